"""Runs :func:`gpo.testing.server.cli.main`: ``python -m gpo.testing.server --port 8000``."""

import sys

from gpo.testing.server.cli import main

if __name__ == "__main__":
    sys.exit(main())
