"""The production canary: a few seconds of non-disruptive session checks, as metrics.

probe.py       the run: log in, stickiness, the session on every target, logout, builds
result.py      what a run found, and the same as metric samples
prometheus.py  the text exposition format: a textfile, a Pushgateway
cloudwatch.py  PutMetricData, batched within the API's limits
exporter.py    `parity exporter`: /probe?env=NAME in the blackbox_exporter style
"""
