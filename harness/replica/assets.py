"""The reference app's front-end assets: hashed names per build, served from a shared store.

Each build's page references `/static/app.<hash>.js` and `.css`, the hash taken from the build,
as a bundler names chunks. The files live in one shared asset directory that a deploy publishes
every build's assets to before its instances start (as teams publish to a bucket behind a CDN),
so a page of one build loads its assets from an instance of another. An instance whose build
was never published (the `version-skew` fault: a stray build) has pages whose assets answer 404.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from pathlib import Path

from flask import Flask, Response, abort, send_file

ASSET_NAME = re.compile(r"app\.[0-9a-f]{12}\.(?:js|css)")


def asset_names(build: str) -> dict[str, str]:
    """The logical name of each asset and its hashed file name for `build`."""
    digest = hashlib.sha256(build.encode()).hexdigest()[:12]
    return {"app.js": f"app.{digest}.js", "app.css": f"app.{digest}.css"}


def _body(build: str, logical: str) -> str:
    if logical.endswith(".js"):
        return f'document.documentElement.dataset.build = "{build}";\n'
    return f"/* {build} */ body {{ font-family: sans-serif; }}\n"


def publish(asset_dir: Path, build: str) -> None:
    """Write `build`'s assets into the shared directory (each file whole, by rename)."""
    asset_dir.mkdir(parents=True, exist_ok=True)
    for logical, name in asset_names(build).items():
        if (asset_dir / name).exists():
            continue
        fd, tmp = tempfile.mkstemp(dir=asset_dir, prefix=".publish-")
        with os.fdopen(fd, "w") as out:
            out.write(_body(build, logical))
        os.replace(tmp, asset_dir / name)


def page(build: str) -> str:
    names = asset_names(build)
    return (
        "<!doctype html><html><head><title>parity reference shop</title>"
        f'<link rel="stylesheet" href="/static/{names["app.css"]}">'
        f'<script defer src="/static/{names["app.js"]}"></script>'
        "</head><body><h1>parity reference shop</h1></body></html>\n"
    )


def register_assets(app: Flask, build: str, asset_dir: str) -> None:
    """`/app` (a page of this build), `/static/manifest.json` and `/static/<hashed name>` (from
    the shared store; without one, this build's own assets only)."""

    @app.get("/app")
    def app_page() -> Response:
        return Response(page(build), mimetype="text/html")

    @app.get("/static/manifest.json")
    def manifest() -> Response:
        names = {k: f"/static/{v}" for k, v in asset_names(build).items()}
        return Response(json.dumps(names), mimetype="application/json")

    @app.get("/static/<name>")
    def asset(name: str) -> Response:
        if not ASSET_NAME.fullmatch(name):
            abort(404)
        if asset_dir:
            path = Path(asset_dir) / name
            if not path.is_file():
                abort(404)
            return send_file(path.resolve(), max_age=31536000)
        own = {v: k for k, v in asset_names(build).items()}
        if name not in own:
            abort(404)
        mimetype = "text/javascript" if name.endswith(".js") else "text/css"
        return Response(_body(build, own[name]), mimetype=mimetype)
