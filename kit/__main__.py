"""``python -m kit`` is ``smtpkit``."""

import sys

from .cli import main

sys.exit(main())
