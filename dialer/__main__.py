"""`python -m dialer` is the same as the `dialer` command."""

import sys

from dialer.control.cli import main

sys.exit(main())
