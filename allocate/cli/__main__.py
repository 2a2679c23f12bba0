"""``python -m allocate.cli``: the same command line as ``fairalloc``."""

import sys

from allocate.cli import main

if __name__ == "__main__":
    sys.exit(main())
