"""Root conftest: Parity's fixtures, options and hooks live in harness/plugin.py."""
