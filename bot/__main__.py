"""`python -m bot` is the `regiobot` command."""

import sys

from bot.cli import main

sys.exit(main())
