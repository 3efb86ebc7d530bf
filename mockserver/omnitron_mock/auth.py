"""DRF TokenAuthentication, message for message."""

from __future__ import annotations

from omnitron_mock import errors
from omnitron_mock.store.base import Row, Store

KEYWORD = b"token"


def authenticate(header: str | None, store: Store) -> Row | None:
    """The user a request's ``Authorization`` header names.

    ``None`` when the header is absent or uses another scheme (DRF then
    treats the request as anonymous); :class:`APIError` 401 when the header
    says ``Token`` but is malformed or names no active user.
    """
    if not header:
        return None
    # WSGI hands headers over as latin-1 text; DRF splits the raw bytes.
    parts = header.encode("latin-1", "replace").split()
    if not parts or parts[0].lower() != KEYWORD:
        return None
    if len(parts) == 1:
        raise errors.authentication_failed("Invalid token header. No credentials provided.")
    if len(parts) > 2:
        raise errors.authentication_failed("Invalid token header. Token string should not contain spaces.")
    try:
        token = parts[1].decode("utf-8")
    except UnicodeError:
        raise errors.authentication_failed(
            "Invalid token header. Token string should not contain invalid characters."
        ) from None
    user = store.user_by_token(token)
    if user is None:
        raise errors.authentication_failed("Invalid token.")
    if not user["is_active"]:
        raise errors.authentication_failed("User inactive or deleted.")
    return user


def token_of(header: str | None) -> str | None:
    """The key of a well-formed ``Authorization: Token KEY`` header, else None
    (:func:`authenticate` words what is wrong with any other)."""
    parts = (header or "").split()
    if len(parts) == 2 and parts[0].lower() == "token":
        return parts[1]
    return None
