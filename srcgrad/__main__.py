"""``python -m srcgrad``: same as the ``srcgrad`` console script."""
import sys

from srcgrad.cli import main

sys.exit(main())
