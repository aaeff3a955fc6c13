"""``python -m guestinit`` runs the same entry point as the console script."""

import sys

from guestinit.cli import main

sys.exit(main())
