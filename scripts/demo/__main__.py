"""``python -m scripts.demo`` (``make demo``)."""

import sys

from scripts.demo.run import main

sys.exit(main())
