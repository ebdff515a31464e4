"""Root conftest: Parity's fixtures, options and hooks live in harness/plugin.py.

The plugin is also registered as a `pytest11` entry point named after its module, so pytest
loads it once whichever way comes first.
"""

pytest_plugins = ["harness.plugin"]
