"""`python -m tools tail|dead-letters …`."""

import sys

from tools.cli import main

sys.exit(main())
