"""drain_during_load: sticky_users while `parity load` drains one target mid-run and restores it.

The drain and restore are done by the parity process through the topology provider (boto3 never
runs under gevent); their instants reach the users through the events file.
"""

from harness.loadgen.users import StickyUser, install

install()
__all__ = ["StickyUser"]
