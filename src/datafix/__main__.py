"""``python -m datafix`` runs the command line."""

import sys

from datafix.cli import main

sys.exit(main())
