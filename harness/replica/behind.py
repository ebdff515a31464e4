"""What the reference app does behind a balancer: forwarded headers, redirects, Secure cookies.

A healthy instance trusts one proxy hop (werkzeug's ProxyFix): the client address comes from
X-Forwarded-For, the scheme and host from X-Forwarded-Proto/Host, so behind TLS termination it
knows the request came over https, builds https redirects on the balancer's host and marks its
session cookie Secure. The faults switch each of those off (`harness.replica.faults`).
"""

from __future__ import annotations

from flask import Flask, Response, jsonify, redirect, request
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response as BaseResponse

from harness.replica.app_settings import AppSettings


def _instance_root() -> str:
    """The instance's own listener (`http://127.0.0.1:<port>/`): what internal-redirect uses."""
    sock = request.environ.get("gunicorn.socket")
    host, port = sock.getsockname()[:2] if sock is not None else ("127.0.0.1", 80)
    return f"http://{host}:{port}/"


def register_balancer_routes(app: Flask, cfg: AppSettings) -> None:
    """ProxyFix, the Secure rule of the session cookie, /account and /client-ip."""
    trust = int(cfg.forwarded_proto)
    app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
        app.wsgi_app, x_for=int(cfg.forwarded_for), x_proto=trust, x_host=trust, x_port=trust
    )

    def secure(_app: Flask) -> bool:  # Secure over https (as the app sees it), unless faulty
        return cfg.secure_cookie and request.is_secure

    app.session_interface.get_cookie_secure = secure  # type: ignore[method-assign,assignment]

    @app.get("/account")
    def account() -> BaseResponse:
        """The account area moved to /account/: a redirect built from the request's root."""
        if not request.is_secure:
            return redirect(f"https://{request.host}{request.full_path.rstrip('?')}")
        root = _instance_root() if cfg.internal_redirect else request.url_root
        return redirect(f"{root}account/")

    @app.get("/account/")
    def account_page() -> BaseResponse:
        if not request.is_secure:  # the account area is https only
            return redirect(f"https://{request.host}/account/")
        return jsonify(account=True, instance=cfg.instance_id)

    @app.get("/client-ip")
    def client_ip() -> Response:
        """The client address the app sees (what per-IP limits would count)."""
        return jsonify(ip=request.remote_addr, instance=cfg.instance_id)
