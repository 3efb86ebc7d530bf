"""DRF-style API errors: an exception carries the exact status and body."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("omnitron_mock")


class APIError(Exception):
    """An error answered as JSON; ``body`` is sent as it is."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body
        self.headers = headers or {}


def detail(status: int, message: str, headers: dict[str, str] | None = None) -> APIError:
    return APIError(status, {"detail": message}, headers)


def not_authenticated() -> APIError:
    return detail(401, "Authentication credentials were not provided.", {"WWW-Authenticate": "Token"})


def authentication_failed(message: str) -> APIError:
    return detail(401, message, {"WWW-Authenticate": "Token"})


def not_found() -> APIError:
    return detail(404, "Not found.")


def method_not_allowed(method: str) -> APIError:
    return detail(405, f'Method "{method}" not allowed.')


def unsupported_media_type(content_type: str) -> APIError:
    return detail(415, f'Unsupported media type "{content_type}" in request.')


def parse_error(reason: str) -> APIError:
    return detail(400, f"JSON parse error - {reason}")


def payload_too_large() -> APIError:
    return detail(413, "Request body too large.")


def server_error() -> APIError:
    return detail(500, "A server error occurred.")


def unexpected(error: BaseException, method: str, path: str) -> APIError:
    """The answer to an error no code path expected, emulated API and Flask
    routes alike: the traceback goes to the log only; clients see DRF's
    generic message."""
    log.error("unhandled error on %s %s", method, path, exc_info=error)
    return server_error()


class FieldErrors(Exception):
    """Validation errors in DRF's ``{"field": ["message", ...]}`` shape."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors
