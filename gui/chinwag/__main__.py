"""``python -m chinwag``."""

import sys

from chinwag.app import main

sys.exit(main())
