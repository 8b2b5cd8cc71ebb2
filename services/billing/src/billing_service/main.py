"""Entry points: ``create_app`` (HTTP) and ``python -m billing_service.main migrate|stream|...``."""

import sys

from billing_service.bootstrap import SERVICE

create_app = SERVICE.create_app

if __name__ == "__main__":
    sys.exit(SERVICE.main(sys.argv[1:]))
