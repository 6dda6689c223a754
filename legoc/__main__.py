"""`python -m legoc`: the same as the `legoc` command."""

import sys

from .cli import main

sys.exit(main())
