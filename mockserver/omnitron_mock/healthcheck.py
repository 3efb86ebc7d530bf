"""Container health probe: ``python -m omnitron_mock.healthcheck`` exits 0 when
``/_mock/health`` on ``$OMNITRON_MOCK_PORT`` (or ``$PORT``; default 8000)
answers 200, 1 otherwise."""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    port = os.environ.get("OMNITRON_MOCK_PORT") or os.environ.get("PORT") or "8000"
    url = f"http://127.0.0.1:{port}/_mock/health"
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return 0 if response.status == 200 else 1
    except (OSError, urllib.error.URLError):
        return 1


if __name__ == "__main__":
    sys.exit(main())
