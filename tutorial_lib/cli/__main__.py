"""`python -m tutorial_lib.cli`: the `airlift-tutorial` command."""

import sys

from tutorial_lib.cli.commands import main

sys.exit(main())
