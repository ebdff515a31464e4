"""The reference app: a small Flask shop whose sessions live in Redis, served by gunicorn.

Every setting comes from `PARITY_APP_*` environment variables (see `AppSettings.from_env`), so the
supervisor can start each instance, healthy or with a fault, as a separate gunicorn process.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import Flask, Response, abort, jsonify, request, session

from harness.replica.assets import register_assets
from harness.replica.behind import register_balancer_routes
from harness.replica.sessions import (
    CachedStore,
    MemoryStore,
    ParitySessionInterface,
    RedisHashStore,
    SessionStore,
    WriteMode,
)

MAX_SLOW_SECONDS = 30.0


@dataclass(frozen=True)
class AppSettings:
    """How one instance of the reference app behaves."""

    instance_id: str
    build: str
    secret_key: str
    redis_url: str
    password: str
    session_store: str = "redis"
    write_mode: str = "field"
    session_ttl: int = 86400
    cookie_lifetime: int = 86400
    latency_ms: int = 0
    write_work_ms: int = 25
    health_file: str = ""
    read_cache_seconds: float = 0.0  # the stale-cache fault: session reads memoised here
    session_format: int = 1  # 2: the session-format fault's new encoding (older builds: 500)
    asset_dir: str = ""  # the shared asset store every build publishes its hashed assets to
    keep_alive: int = 0  # gunicorn --keep-alive (seconds; 0: the supervisor's default)
    forwarded_proto: bool = True  # honour X-Forwarded-Proto/Host (ignores-forwarded-proto: no)
    internal_redirect: bool = False  # redirects from the instance's own address (a fault)
    secure_cookie: bool = True  # the session cookie is Secure over https (insecure-cookie: no)
    forwarded_for: bool = True  # the client address from X-Forwarded-For (trusts-balancer-ip: no)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> AppSettings:
        e = dict(os.environ if env is None else env)
        return cls(
            instance_id=e["PARITY_APP_INSTANCE_ID"],
            build=e.get("PARITY_APP_BUILD", "dev"),
            secret_key=e["PARITY_APP_SECRET_KEY"],
            redis_url=e["PARITY_APP_REDIS_URL"],
            password=e["PARITY_APP_PASSWORD"],
            session_store=e.get("PARITY_APP_SESSION_STORE", "redis"),
            write_mode=e.get("PARITY_APP_WRITE_MODE", "field"),
            session_ttl=int(e.get("PARITY_APP_SESSION_TTL", "86400")),
            cookie_lifetime=int(e.get("PARITY_APP_COOKIE_LIFETIME", "86400")),
            latency_ms=int(e.get("PARITY_APP_LATENCY_MS", "0")),
            write_work_ms=int(e.get("PARITY_APP_WRITE_WORK_MS", "25")),
            health_file=e.get("PARITY_APP_HEALTH_FILE", ""),
            read_cache_seconds=float(e.get("PARITY_APP_READ_CACHE_SECONDS", "0")),
            session_format=int(e.get("PARITY_APP_SESSION_FORMAT", "1")),
            asset_dir=e.get("PARITY_APP_ASSET_DIR", ""),
            keep_alive=int(e.get("PARITY_APP_KEEP_ALIVE", "0")),
            forwarded_proto=e.get("PARITY_APP_FORWARDED_PROTO", "1") == "1",
            internal_redirect=e.get("PARITY_APP_INTERNAL_REDIRECT", "0") == "1",
            secure_cookie=e.get("PARITY_APP_SECURE_COOKIE", "1") == "1",
            forwarded_for=e.get("PARITY_APP_FORWARDED_FOR", "1") == "1",
        )

    def to_env(self) -> dict[str, str]:
        """The environment variables that reproduce these settings."""
        return {
            "PARITY_APP_INSTANCE_ID": self.instance_id,
            "PARITY_APP_BUILD": self.build,
            "PARITY_APP_SECRET_KEY": self.secret_key,
            "PARITY_APP_REDIS_URL": self.redis_url,
            "PARITY_APP_PASSWORD": self.password,
            "PARITY_APP_SESSION_STORE": self.session_store,
            "PARITY_APP_WRITE_MODE": self.write_mode,
            "PARITY_APP_SESSION_TTL": str(self.session_ttl),
            "PARITY_APP_COOKIE_LIFETIME": str(self.cookie_lifetime),
            "PARITY_APP_LATENCY_MS": str(self.latency_ms),
            "PARITY_APP_WRITE_WORK_MS": str(self.write_work_ms),
            "PARITY_APP_HEALTH_FILE": self.health_file,
            "PARITY_APP_READ_CACHE_SECONDS": f"{self.read_cache_seconds:g}",
            "PARITY_APP_SESSION_FORMAT": str(self.session_format),
            "PARITY_APP_ASSET_DIR": self.asset_dir,
            "PARITY_APP_KEEP_ALIVE": str(self.keep_alive),
            "PARITY_APP_FORWARDED_PROTO": str(int(self.forwarded_proto)),
            "PARITY_APP_INTERNAL_REDIRECT": str(int(self.internal_redirect)),
            "PARITY_APP_SECURE_COOKIE": str(int(self.secure_cookie)),
            "PARITY_APP_FORWARDED_FOR": str(int(self.forwarded_for)),
        }


def create_app(settings: AppSettings | None = None) -> Flask:
    """Build the app; gunicorn calls this with no argument and settings come from the env."""
    cfg = settings or AppSettings.from_env()
    app = Flask("parity_reference_app")
    app.config.update(
        SECRET_KEY=cfg.secret_key,
        SESSION_COOKIE_NAME="session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(seconds=cfg.cookie_lifetime),
        SESSION_REFRESH_EACH_REQUEST=True,
    )
    if cfg.session_store != "cookie":  # "cookie": Flask's own signed-cookie sessions
        store: SessionStore = (
            MemoryStore()
            if cfg.session_store == "memory"
            else RedisHashStore(cfg.redis_url, cfg.session_format)
        )
        if cfg.read_cache_seconds > 0:
            store = CachedStore(store, cfg.read_cache_seconds)
        mode: WriteMode = "whole" if cfg.write_mode == "whole" else "field"
        app.session_interface = ParitySessionInterface(app, store, mode, cfg.session_ttl)
    _register_hooks(app, cfg)
    _register_routes(app, cfg)
    register_assets(app, cfg.build, cfg.asset_dir)
    register_balancer_routes(app, cfg)
    return app


def _register_hooks(app: Flask, cfg: AppSettings) -> None:
    @app.before_request
    def add_latency() -> None:
        if cfg.latency_ms and request.path != "/healthz":
            time.sleep(cfg.latency_ms / 1000)

    @app.after_request
    def identify(response: Response) -> Response:
        response.headers["X-Instance-Id"] = cfg.instance_id
        return response


def _user() -> str:
    user = session.get("user")
    if not isinstance(user, str):
        abort(401)
    return user


def _register_routes(app: Flask, cfg: AppSettings) -> None:
    @app.get("/healthz")
    def healthz() -> tuple[str, int]:
        if cfg.health_file and os.path.exists(cfg.health_file):
            return "failing on purpose\n", 503
        return "ok\n", 200

    @app.get("/version")
    def version() -> Response:
        return jsonify(build=cfg.build, instance=cfg.instance_id)

    @app.get("/")
    def index() -> Response:
        return jsonify(app="parity reference shop", instance=cfg.instance_id)

    @app.post("/login")
    def login() -> tuple[Response, int]:
        body: dict[str, Any] = request.get_json(silent=True) or request.form.to_dict()
        user, password = body.get("username"), body.get("password")
        if not isinstance(user, str) or not user or password != cfg.password:
            return jsonify(error="invalid credentials"), 401
        session.clear()
        session.permanent = True  # the cookie lives cookie_lifetime seconds, refreshed per request
        session["user"] = user
        session["cart"] = []
        return jsonify(user=user, instance=cfg.instance_id), 200

    @app.post("/logout")
    def logout() -> Response:
        session.clear()
        return jsonify(logged_out=True)

    @app.get("/session")
    def read_session() -> Response:
        user = _user()
        data = {k[2:]: v for k, v in session.items() if k.startswith("k_")}
        return jsonify(user=user, data=data, cart=session.get("cart", []), instance=cfg.instance_id)

    @app.put("/session/<key>")
    def write_key(key: str) -> Response:
        _user()
        body = request.get_json(silent=True) or {}
        time.sleep(cfg.write_work_ms / 1000)  # the request's own work between load and save
        session[f"k_{key}"] = body.get("value")
        return jsonify(key=key, stored=True)

    @app.post("/cart")
    def add_to_cart() -> Response:
        _user()
        item = (request.get_json(silent=True) or {}).get("item", "item")
        session["cart"] = [*session.get("cart", []), str(item)]
        return jsonify(cart=session["cart"])

    @app.get("/slow")
    def slow() -> Response:
        seconds = min(float(request.args.get("seconds", "1")), MAX_SLOW_SECONDS)
        time.sleep(max(seconds, 0.0))
        return jsonify(slept=seconds)
