"""Deploys watched from the outside: `parity watch -- <deploy command>`, its timeline, the
attribution of each error to the transition behind it (by the target a request was meant for),
each departure of a target named (a drain, or a stop while still registered), the mixed-build
windows probed for sessions the builds cannot share, and the builds at the end."""
