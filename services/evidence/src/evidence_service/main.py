"""Entry points: ``create_app`` (HTTP) and ``python -m evidence_service.main migrate|stream|...``."""

from __future__ import annotations

import sys

from evidence_service.bootstrap import SERVICE

create_app = SERVICE.create_app

if __name__ == "__main__":
    sys.exit(SERVICE.main(sys.argv[1:]))
