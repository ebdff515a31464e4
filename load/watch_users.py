"""watch_users: `parity watch`'s load with the profile's `realtime:`: the sticky users of
sticky_users and, beside them, a stream user per stream asked (`CONTEXT["streams"]`), each
holding a stream open on the target it is meant for and publishing, through the deploy."""

import harness.loadgen.realtime_users as realtime
from harness.loadgen.users import CONTEXT, StickyUser, install


class StreamUser(realtime.RealtimeUser):
    """Exactly `streams` of them; every other user is a StickyUser."""

    fixed_count = int(CONTEXT.get("streams") or 0)


install()
realtime.install_realtime()
__all__ = ["StickyUser", "StreamUser"]
