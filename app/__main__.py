"""`python -m app` does what the `chainwright` command does."""

import sys

from app.cli import main

sys.exit(main())
