"""The one wording of HTTP status lines, for every answer the emulator sends.

Omnitron is a Django application: its status lines carry the standard
reason phrases (``429 Too Many Requests``), as :class:`http.HTTPStatus`
words them. werkzeug would send ``429 TOO MANY REQUESTS`` for the Flask
routes; :func:`with_status_wording` rewords those.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]

_LINES: dict[int, str] = {}


def status_line(status: int) -> str:
    """``"404 Not Found"``: the code and its standard reason phrase."""
    line = _LINES.get(status)
    if line is None:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Unknown"
        line = _LINES[status] = f"{status} {phrase}"
    return line


def with_status_wording(app: WSGIApp) -> WSGIApp:
    """``app`` with its status lines worded as :func:`status_line` does."""

    def reworded(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            code = status[:3]
            line = status_line(int(code)) if code.isdigit() else status
            return start_response(line, headers, exc_info) if exc_info else start_response(line, headers)

        return app(environ, start)

    return reworded
