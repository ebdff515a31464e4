"""The checks a deployment must pass, shipped inside the wheel as `harness.suites`.

Run them with `parity check`, or `pytest --pyargs harness.suites` from any directory.
"""
