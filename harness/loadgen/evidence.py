"""Load evidence collected inside Locust processes and merged exactly across workers.

Per target: requests, errors, sessions and an HDR latency histogram (3 significant digits).
Per second: requests, errors and a compact log-bucket latency sketch per target, reduced to
numbers once the second is old, so memory stays flat however long the run. Sticky violations and
session losses are counted, with the first events kept as examples.
"""

from __future__ import annotations

import math
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from harness.stats import histogram, percentiles_ms

SKETCH_RESOLUTION = 50  # buckets per e-fold of latency: about 2 % wide
OPEN_SECONDS = 15  # seconds kept as sketches (workers report every 3 s)
EXAMPLES = 200  # violations and losses kept as examples
REALTIME_COUNTERS = (  # a realtime_users run's streams and publishes, as counted
    "realtime_opened",
    "realtime_refused",
    "realtime_dropped",
    "realtime_published",
    "realtime_publish_failed",
    "realtime_login_failed",
    "realtime_unplaced",  # a watch's stream that never landed on the target it was meant for
    "realtime_lost_while_open",  # lost on a stream still open when the message was due
    "realtime_lost_on_close",  # lost on a stream the other end closed before it was due
)
ERRORS_KEPT = 5000  # failed requests kept one by one (time, target, status), the latest
DELIVERY_GRACE_SECONDS = 2.0  # after the profile's bound: a message not there by then is lost


def _bucket(ms: float) -> int:
    return round(math.log(max(ms, 0.01)) * SKETCH_RESOLUTION)


def sketch_percentile(sketch: Counter[int], pct: float) -> float:
    total = sum(sketch.values())
    if not total:
        return 0.0
    rank, seen = total * pct / 100, 0
    for bucket in sorted(sketch):
        seen += sketch[bucket]
        if seen >= rank:
            return round(math.exp(bucket / SKETCH_RESOLUTION), 2)
    return 0.0


@dataclass
class Second:
    requests: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    sketches: dict[str, Counter[int]] = field(default_factory=dict)

    def close(self) -> dict[str, dict[str, float]]:
        return {
            t: {
                "requests": n,
                "errors": self.errors.get(t, 0),
                "p95_ms": sketch_percentile(self.sketches.get(t, Counter()), 95),
            }
            for t, n in self.requests.items()
        }


class Evidence:
    """What one Locust process (or the master, merged) saw."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.requests: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.sessions: Counter[str] = Counter()
        self.histograms: dict[str, Any] = {}
        self.open: dict[int, Second] = {}
        self.closed: dict[int, dict[str, dict[str, float]]] = {}
        self.counters: Counter[str] = Counter()  # sticky_violations, session_losses, moves
        self.examples: deque[dict[str, Any]] = deque(maxlen=EXAMPLES)
        self.failed: deque[dict[str, Any]] = deque(maxlen=ERRORS_KEPT)
        self.deliveries: dict[str, Any] = {}  # real-time: delivery latency per target (HDR)
        self.lost: Counter[str] = Counter()  # real-time: messages a target's stream never had
        self.streamed: deque[dict[str, Any]] = deque(maxlen=ERRORS_KEPT)  # closes, refusals
        self.losses: deque[dict[str, Any]] = deque(maxlen=ERRORS_KEPT)  # messages lost, dated

    # ---- recording ------------------------------------------------------------------------
    def record(self, target: str | None, ms: float, failed: bool, now: float | None = None) -> None:
        key = target or "unknown"
        self.requests[key] += 1
        if failed:
            self.errors[key] += 1
        hist = self.histograms.get(key)
        if hist is None:
            hist = self.histograms[key] = histogram()
        hist.record_value(max(int(ms * 1000), 1))
        second = self._second(int(now if now is not None else time.time()))
        second.requests[key] += 1
        if failed:
            second.errors[key] += 1
        second.sketches.setdefault(key, Counter())[_bucket(ms)] += 1

    def record_failure(
        self,
        target: str | None,
        status: int,
        name: str,
        intended: str | None = None,
        ms: float = 0.0,
    ) -> None:
        """One failed request: when it ended, on which target (None: unknown), its status (0:
        none), the target it was meant for (its user's sticky target, when it had one) and how
        long it took (so when it began: before or after its target stopped)."""
        self.failed.append(
            {
                "at": round(time.time(), 3),
                "target": target,
                "status": status,
                "request": name,
                "intended": intended,
                "ms": round(ms, 1),
            }
        )

    def record_delivery(self, target: str | None, ms: float) -> None:
        """A real-time message reached the stream on `target`, `ms` after it was published."""
        name = target or "unnamed"
        if name not in self.deliveries:
            self.deliveries[name] = histogram()
        self.deliveries[name].record_value(max(1, round(ms * 1000)))  # in microseconds

    def record_lost(self, target: str | None) -> None:
        self.lost[target or "unnamed"] += 1

    def record_stream_event(
        self, kind: str, at: float, target: str | None, **details: Any
    ) -> None:
        """A stream closed by the other end, refused, or a message lost on it (`at`: epoch
        seconds; a loss is dated when its message was published). Losses are kept apart, so a
        broadcast that loses every message never pushes the closes out."""
        kept = self.losses if kind == "message_lost" else self.streamed
        kept.append({"kind": kind, "at": round(at, 3), "target": target, **details})

    def record_session(self, target: str | None) -> None:
        self.sessions[target or "unknown"] += 1

    def count(self, kind: str) -> None:
        """A counter only (test sessions made and logged out), no example kept."""
        self.counters[kind] += 1

    def record_event(self, kind: str, **details: Any) -> None:
        """A sticky violation, a session loss or a move: counted, the first kept as examples."""
        self.counters[kind] += 1
        self.examples.append({"kind": kind, "at": round(time.time(), 3), **details})

    def _second(self, epoch: int) -> Second:
        second = self.open.get(epoch)
        if second is None:
            second = self.open[epoch] = Second()
            self.close_older_than(epoch - OPEN_SECONDS)
        return second

    def close_older_than(self, epoch: float) -> None:
        for sec in [s for s in self.open if s < epoch]:
            self.closed[sec] = self.open.pop(sec).close()

    # ---- distributed: a worker's delta, merged by the master --------------------------------
    def take_delta(self) -> dict[str, Any]:
        """Everything recorded since the last delta, as JSON; the local state starts over."""
        delta = {
            "requests": dict(self.requests),
            "errors": dict(self.errors),
            "sessions": dict(self.sessions),
            "counters": dict(self.counters),
            "examples": list(self.examples),
            "failed": list(self.failed),
            "histograms": {t: h.encode().decode() for t, h in self.histograms.items()},
            "deliveries": {t: h.encode().decode() for t, h in self.deliveries.items()},
            "lost": dict(self.lost),
            "streamed": list(self.streamed),
            "losses": list(self.losses),
            "seconds": {
                str(s): {
                    "requests": dict(v.requests),
                    "errors": dict(v.errors),
                    "sketches": {
                        t: {str(b): n for b, n in c.items()} for t, c in v.sketches.items()
                    },
                }
                for s, v in self.open.items()
            },
        }
        self._reset()
        return delta

    def merge(self, delta: dict[str, Any]) -> None:
        """Add a worker's delta: counts add up and histograms merge exactly."""
        self.requests.update(delta.get("requests", {}))
        self.errors.update(delta.get("errors", {}))
        self.sessions.update(delta.get("sessions", {}))
        self.counters.update(delta.get("counters", {}))
        self.examples.extend(delta.get("examples", []))
        self.failed.extend(delta.get("failed", []))
        self.lost.update(delta.get("lost", {}))
        self.streamed.extend(delta.get("streamed", []))
        self.losses.extend(delta.get("losses", []))
        for kept, key in ((self.histograms, "histograms"), (self.deliveries, "deliveries")):
            for target, encoded in delta.get(key, {}).items():
                other = histogram()
                other.decode_and_add(encoded.encode())  # HDR's own base64 encoding
                if target in kept:
                    kept[target].add(other)
                else:
                    kept[target] = other
        for sec, data in delta.get("seconds", {}).items():
            epoch = int(sec)
            if epoch in self.closed:  # a late report: count it, its latency sketch is gone
                for t, n in data["requests"].items():
                    row = self.closed[epoch].setdefault(
                        t, {"requests": 0, "errors": 0, "p95_ms": 0.0}
                    )
                    row["requests"] += n
                    row["errors"] += data["errors"].get(t, 0)
                continue
            second = self._second(epoch)
            second.requests.update(data["requests"])
            second.errors.update(data["errors"])
            for t, sketch in data["sketches"].items():
                second.sketches.setdefault(t, Counter()).update(
                    {int(b): n for b, n in sketch.items()}
                )

    # ---- the result ----------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        self.close_older_than(float("inf"))
        targets = sorted(set(self.requests) | set(self.sessions))
        return {
            "targets": {
                t: {
                    "requests": self.requests.get(t, 0),
                    "errors": self.errors.get(t, 0),
                    "sessions": self.sessions.get(t, 0),
                    "latency_ms": percentiles_ms(self.histograms[t])
                    if t in self.histograms
                    else {},
                }
                for t in targets
            },
            "totals": {
                "requests": sum(self.requests.values()),
                "errors": sum(self.errors.values()),
                "sessions": sum(self.sessions.values()),
            },
            "sticky_violations": self.counters.get("sticky_violation", 0),
            "session_losses": self.counters.get("session_loss", 0),
            "moves": self.counters.get("move", 0),
            "test_sessions": {
                "made": self.counters.get("login", 0),
                "logged_out": self.counters.get("logout", 0),
                "left": self.counters.get("login", 0) - self.counters.get("logout", 0),
            },
            "examples": list(self.examples),
            "failed": sorted(self.failed, key=lambda f: float(f["at"])),
            "timeline": [{"second": s, "targets": self.closed[s]} for s in sorted(self.closed)],
            **self._realtime(),
        }

    def _realtime(self) -> dict[str, Any]:
        """Real-time deliveries and losses per target, when a run had any."""
        targets = sorted(set(self.deliveries) | set(self.lost))
        streams = {k.removeprefix("realtime_"): self.counters.get(k, 0) for k in REALTIME_COUNTERS}
        if not targets and not any(streams.values()) and not self.streamed and not self.losses:
            return {}
        rows = {
            t: {
                "delivered": self.deliveries[t].get_total_count() if t in self.deliveries else 0,
                "lost": self.lost.get(t, 0),
                "latency_ms": percentiles_ms(self.deliveries[t]) if t in self.deliveries else {},
            }
            for t in targets
        }
        return {
            "realtime": {
                "targets": rows,
                **streams,
                "events": sorted([*self.streamed, *self.losses], key=lambda e: float(e["at"])),
            },
            "messages_delivered": sum(r["delivered"] for r in rows.values()),
            "messages_lost": sum(r["lost"] for r in rows.values()),
        }
