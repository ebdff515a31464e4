"""The `parity` command: `main` parses the command line; one module per command group."""

from harness.cli.main import main

__all__ = ["main"]
