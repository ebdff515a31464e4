"""How one instance of the reference app behaves, and the `PARITY_APP_*` variables that carry it
to the instance's gunicorn process (read without importing the app or Flask)."""

from __future__ import annotations

import os
from dataclasses import dataclass


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
    broadcast: str = "redis"  # real-time messages through Redis pub/sub ("local": a fault)

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
            broadcast=e.get("PARITY_APP_BROADCAST", "redis"),
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
            "PARITY_APP_BROADCAST": self.broadcast,
        }
