"""``python -m zenops_cli`` = ``zenops``."""

import sys

from zenops_cli.main import main

sys.exit(main())
