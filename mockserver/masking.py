"""The one masking rule for secrets on their way into the journal.

Every journal writer (answers of the emulator, answers of faults) passes
each request through :func:`masked_headers` and :func:`masked_bodies`, so
a secret is masked whatever shape the client sent it in.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlencode

from mockserver.body import media_type_of

PASSWORD_MASK = "********"
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-mock-admin-token"})
_CREDENTIAL_SCHEMES = frozenset({"token", "bearer", "basic", "digest"})


def mask_secret(secret: str) -> str:
    """``8d5a…4c1c``: enough to tell tokens apart, not to reuse one."""
    return "****" if len(secret) <= 16 else f"{secret[:4]}…{secret[-4:]}"


def mask_authorization(value: str) -> str:
    """``Token 8d5a…4c1c``; any whitespace separates the scheme, and a value
    without a scheme is all secret."""
    parts = value.split()
    if not parts:
        return value
    if len(parts) == 1:
        return parts[0] if parts[0].lower() in _CREDENTIAL_SCHEMES else mask_secret(parts[0])
    return f"{parts[0]} {mask_secret(' '.join(parts[1:]))}"


def masked_headers(headers: dict[str, str]) -> dict[str, str]:
    shown = {}
    for name, value in headers.items():
        lowered = name.lower()
        if lowered in ("authorization", "proxy-authorization"):
            shown[name] = mask_authorization(value)
        elif lowered in SECRET_HEADERS:
            shown[name] = mask_secret(value)
        else:
            shown[name] = value
    return shown


def carries_credentials(path: str) -> bool:
    """Whether a request to ``path`` holds a password (any login route, however spelt)."""
    return "auth/login" in path.lower().replace("//", "/")


def masked_bodies(path: str, content_type: str | None, body: bytes, response: str) -> tuple[bytes, str]:
    """The request and response bodies of a call to ``path`` as the journal may keep them.

    On a login route, the request's ``password`` is masked whatever its type;
    a body whose password cannot be found (not JSON, not a form, another
    charset the client did not declare) is not kept at all, only its length.
    The response's ``key`` is masked.
    """
    if not carries_credentials(path):
        return body, response
    return _masked_login(body, content_type), _masked_key(response)


def _masked_login(body: bytes, content_type: str | None) -> bytes:
    if not body:
        return body
    (main, sub), params = media_type_of(content_type or "")
    try:
        text = body.decode(params.get("charset") or "utf-8")
    except (LookupError, UnicodeDecodeError):
        return _withheld(body)
    if (main, sub) == ("application", "x-www-form-urlencoded"):
        pairs = parse_qsl(text, keep_blank_values=True)
        if pairs:
            masked = [(key, PASSWORD_MASK if key == "password" else value) for key, value in pairs]
            return urlencode(masked).encode("utf-8")
        return _withheld(body)
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return _withheld(body)
    if not isinstance(document, dict):
        return _withheld(body)
    if "password" in document:
        document["password"] = PASSWORD_MASK
    try:
        return json.dumps(document, ensure_ascii=False).encode("utf-8")
    except (ValueError, RecursionError, UnicodeEncodeError):
        return _withheld(body)


def _withheld(body: bytes) -> bytes:
    note = f"{PASSWORD_MASK} (login body of {len(body)} bytes not kept: its password could not be masked)"
    return note.encode("utf-8")


def _masked_key(response: str) -> str:
    try:
        document: Any = json.loads(response)
    except (ValueError, RecursionError):
        return response
    if not isinstance(document, dict) or "key" not in document:
        return response
    key = document["key"]
    document["key"] = mask_secret(key) if isinstance(key, str) else PASSWORD_MASK
    return json.dumps(document, ensure_ascii=False)
