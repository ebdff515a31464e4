"""The reference app: a small Flask shop whose sessions live in Redis, served by gunicorn.

Every setting comes from `PARITY_APP_*` environment variables (`app_settings.AppSettings`), so the
supervisor can start each instance, healthy or with a fault, as a separate gunicorn process.
"""

from __future__ import annotations

import os
import time
from datetime import timedelta
from typing import Any

from flask import Flask, Response, abort, jsonify, request, session

from harness.replica.app_settings import AppSettings
from harness.replica.assets import register_assets
from harness.replica.behind import register_balancer_routes
from harness.replica.realtime import register_realtime
from harness.replica.sessions import (
    CachedStore,
    MemoryStore,
    ParitySessionInterface,
    RedisHashStore,
    SessionStore,
    WriteMode,
)

MAX_SLOW_SECONDS = 30.0


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
    register_realtime(app, cfg)
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
