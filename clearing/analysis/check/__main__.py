"""`python -m clearing.analysis.check RUN_DIR [--scenario DIR] [--tol T]`."""

import sys

from clearing.analysis.check import main

sys.exit(main())
