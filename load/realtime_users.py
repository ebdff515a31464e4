"""realtime_users: each user logs in, holds the profile's real-time stream open through the
balancer and publishes; deliveries (with latency) and losses are counted per target."""

from harness.loadgen.realtime_users import RealtimeUser, install_realtime
from harness.loadgen.users import install

install()
install_realtime()
__all__ = ["RealtimeUser"]
