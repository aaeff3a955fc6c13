"""``python -m procshim`` runs the command line (guestinit starts it so)."""

import sys

from procshim.cli import main

sys.exit(main())
