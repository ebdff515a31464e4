"""The embedded replica: a local ALB (HAProxy) in front of reference-app instances on Redis.

`lifecycle` starts and stops it as a daemon, `supervisor` keeps it running, `control` serves its
control API, `faults` holds the switches that break it on purpose.
"""
