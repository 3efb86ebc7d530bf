"""DRF TokenAuthentication, message for message."""

from __future__ import annotations

from mockserver import errors
from mockserver.store.base import Row, Store

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


def mask_secret(secret: str) -> str:
    """``8d5a…4c1c``: enough to tell tokens apart, not to reuse one."""
    return "****" if len(secret) <= 8 else f"{secret[:4]}…{secret[-4:]}"


def mask_authorization(header: str) -> str:
    """The header with its credentials masked: ``Token 8d5a…4c1c``."""
    scheme, _, credentials = header.partition(" ")
    credentials = credentials.strip()
    return f"{scheme} {mask_secret(credentials)}" if credentials else header
