"""`python -m harness.cli`: the same as the `parity` command."""

import sys

from harness.cli.main import main

sys.exit(main())
