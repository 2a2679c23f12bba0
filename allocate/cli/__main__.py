"""``python -m allocate.cli``: the same command line as ``fairalloc``."""

import sys

from allocate.cli import main

sys.exit(main())
