"""`python -m laundry_cli ...` runs the command line."""

import sys

from laundry_cli.main import main

sys.exit(main())
