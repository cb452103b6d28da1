"""`python -m clearing.check RUN_DIR [--scenario DIR] [--tol T]`."""

import sys

from clearing.check import main

sys.exit(main())
