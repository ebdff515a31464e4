"""sticky_users: log in, then reads, writes and cart requests; every answer checked for the
target (sticky violation) and the session content (session loss)."""

from harness.loadgen.users import StickyUser, install

install()
__all__ = ["StickyUser"]
