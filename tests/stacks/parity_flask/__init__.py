"""A Flask app as its team writes it: Flask-Login, Flask-WTF's CSRF protection on every form
and write, server-side sessions in Redis through Flask-Session. Settings from the environment;
one instance per gunicorn process."""

from __future__ import annotations

import os

import redis
from flask import Flask, Response, jsonify, redirect, render_template_string, request, session
from flask_login import LoginManager, UserMixin, login_required, login_user, logout_user
from flask_session import Session
from flask_wtf.csrf import CSRFProtect

LOGIN_PAGE = """<!doctype html>
<meta name="csrf-token" content="{{ csrf_token() }}">
<form method="post" action="/login">
  <input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
  <input name="username"> <input name="password" type="password"> <button>Log in</button>
</form>
"""


class User(UserMixin):
    def __init__(self, name: str) -> None:
        self.id = name


def create_app() -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=os.environ["FLASK_SECRET_KEY"],
        SESSION_TYPE="redis",
        SESSION_REDIS=redis.Redis.from_url(os.environ["FLASK_REDIS_URL"]),
        SESSION_PERMANENT=True,
    )
    Session(app)
    CSRFProtect(app)
    logins = LoginManager(app)
    logins.login_view = "login_form"
    username, password = os.environ["FLASK_USERNAME"], os.environ["FLASK_PASSWORD"]

    @logins.user_loader
    def load_user(name: str) -> User | None:
        return User(name) if name == username else None

    @app.after_request
    def instance(response: Response) -> Response:
        response.headers["X-Instance-Id"] = os.environ["INSTANCE_ID"]
        return response

    @app.get("/healthz")
    def healthz() -> tuple[str, int]:
        return "", 204

    @app.get("/login")
    def login_form() -> str:
        return render_template_string(LOGIN_PAGE)

    @app.post("/login")
    def login() -> Response | tuple[str, int]:
        form = request.form
        if form.get("username") != username or form.get("password") != password:
            return "bad credentials", 401
        login_user(User(username))
        return redirect("/notes")  # type: ignore[return-value]

    @app.put("/notes/<key>")
    @login_required
    def note_write(key: str) -> Response:
        data = dict(session.get("data", {}))
        data[key] = (request.get_json() or {})["value"]
        session["data"] = data
        return jsonify(ok=True)

    @app.get("/notes")
    @login_required
    def notes() -> Response:
        return jsonify(user=username, data=session.get("data", {}))

    @app.post("/logout")
    @login_required
    def logout() -> Response:
        logout_user()
        return redirect("/login")  # type: ignore[return-value]

    return app
