"""`parity exporter`: a Prometheus exporter in the blackbox_exporter style.

`/probe?env=NAME` runs the canary against environments/NAME.yaml (no `env`: the default
environment) and answers its metrics, `parity_probe_success` among them; `/metrics` answers the
exporter's own. Probes are bounded in number (the rest get 503) and in time (a probe that runs
out of time answers `parity_probe_success 0`). Labels carry environment and target names only.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from harness.canary.prometheus import CONTENT_TYPE, exposition, label_value
from harness.canary.result import CanaryResult
from harness.errors import ParityError, UsageError
from harness.printable import one_line
from harness.profile.environment import Environment

ENV_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
SCRAPE_MARGIN = 0.5  # answer this long before Prometheus' own scrape timeout

Loader = Callable[[str | None], Environment]
Runner = Callable[[Environment, float], CanaryResult]


def parse_listen(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"--listen {listen!r}: expected HOST:PORT, for example 127.0.0.1:9477")
    return host.strip("[]"), int(port)


class Exporter:
    """The probes' bookkeeping: slots, timeouts, counters."""

    def __init__(self, load: Loader, run: Runner, max_concurrent: int, timeout: float) -> None:
        self.load, self.run, self.timeout = load, run, timeout
        self.max_concurrent = max_concurrent
        self._slots = threading.BoundedSemaphore(max_concurrent)
        self._lock = threading.Lock()
        self.probes: Counter[tuple[str, str]] = Counter()
        self.rejected = 0
        self.in_flight = 0
        self.started = time.time()

    def probe(self, env_name: str | None, scrape_timeout: float | None) -> tuple[int, str]:
        """(HTTP status, body) for one /probe request."""
        if env_name is not None and not ENV_NAME.match(env_name):
            return 400, f"env={env_name!r}: expected a profile name (letters, digits, _ . -)\n"
        try:
            env = self.load(env_name)
        except ParityError as exc:
            return 400, f"{one_line(str(exc))}\n"
        if not self._slots.acquire(blocking=False):
            with self._lock:
                self.rejected += 1
            return 503, f"{self.max_concurrent} probes already running: try again later\n"
        timeout = self.timeout
        if scrape_timeout is not None:
            timeout = max(1.0, min(timeout, scrape_timeout - SCRAPE_MARGIN))
        try:
            result = self._run_bounded(env, timeout)
        finally:
            self._slots.release()
        outcome = "success" if result.success else "error" if result.error else "failure"
        with self._lock:
            self.probes[(env.name, outcome)] += 1
        return 200, exposition(result)

    def _run_bounded(self, env: Environment, timeout: float) -> CanaryResult:
        """The run in a thread, waited for `timeout` s. A run out of time keeps its slot until it
        ends (its requests are bounded too), so concurrency stays bounded."""
        box: list[CanaryResult] = []
        started = time.monotonic()
        with self._lock:
            self.in_flight += 1

        def work() -> None:
            try:
                box.append(self.run(env, timeout * 0.8))
            except ParityError as exc:  # a profile the run refuses: a failed probe, said at once
                box.append(CanaryResult(env.name, time.time(), error=one_line(str(exc))))
            finally:
                with self._lock:
                    self.in_flight -= 1

        thread = threading.Thread(target=work, daemon=True, name=f"probe-{env.name}")
        thread.start()
        thread.join(timeout)
        if box:
            return box[0]
        late = CanaryResult(env.name, time.time(), error=f"the probe took over {timeout:g} s")
        late.duration_seconds = time.monotonic() - started
        return late

    def own_metrics(self) -> str:
        with self._lock:
            probes, rejected, in_flight = dict(self.probes), self.rejected, self.in_flight
        lines = [
            "# HELP parity_exporter_probes_total Probes answered, by environment and result",
            "# TYPE parity_exporter_probes_total counter",
            *(
                f'parity_exporter_probes_total{{environment="{label_value(env)}",'
                f'result="{res}"}} {n}'
                for (env, res), n in sorted(probes.items())
            ),
            "# HELP parity_exporter_probe_rejections_total Probes refused: too many at once",
            "# TYPE parity_exporter_probe_rejections_total counter",
            f"parity_exporter_probe_rejections_total {rejected}",
            "# HELP parity_exporter_probes_in_flight Probes running now",
            "# TYPE parity_exporter_probes_in_flight gauge",
            f"parity_exporter_probes_in_flight {in_flight}",
            "# HELP parity_exporter_max_concurrent_probes The limit on probes at once",
            "# TYPE parity_exporter_max_concurrent_probes gauge",
            f"parity_exporter_max_concurrent_probes {self.max_concurrent}",
            "# HELP parity_exporter_start_time_seconds When the exporter started",
            "# TYPE parity_exporter_start_time_seconds gauge",
            f"parity_exporter_start_time_seconds {self.started:.3f}",
        ]
        return "\n".join(lines) + "\n"


INDEX = (
    "<html><head><title>Parity exporter</title></head><body><h1>Parity exporter</h1>"
    '<p><a href="/probe">/probe?env=NAME</a> runs the session canary; '
    '<a href="/metrics">/metrics</a> has the exporter\'s own metrics.</p></body></html>\n'
)


def make_handler(exporter: Exporter) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "parity-exporter"

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path == "/probe":
                query = parse_qs(parts.query)
                names = query.get("env")
                scrape = self.headers.get("X-Prometheus-Scrape-Timeout-Seconds")
                try:
                    scrape_timeout = float(scrape) if scrape else None
                except ValueError:
                    scrape_timeout = None
                status, body = exporter.probe(names[0] if names else None, scrape_timeout)
                self._answer(status, body, CONTENT_TYPE if status == 200 else "text/plain")
            elif parts.path == "/metrics":
                self._answer(200, exporter.own_metrics(), CONTENT_TYPE)
            elif parts.path == "/":
                self._answer(200, INDEX, "text/html; charset=utf-8")
            else:
                self._answer(404, "not found: /probe?env=NAME or /metrics\n", "text/plain")

        def _answer(self, status: int, body: str, content_type: str) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            return  # the access log would only repeat Prometheus' own

    return Handler


def serve(exporter: Exporter, host: str, port: int, ready: Callable[[str], None]) -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM)."""
    try:
        server = ThreadingHTTPServer((host, port), make_handler(exporter))
    except OSError as exc:
        raise UsageError(f"--listen {host}:{port}: cannot listen there: {exc.strerror}") from exc
    server.daemon_threads = True
    ready(f"http://{host}:{server.server_address[1]}")
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
