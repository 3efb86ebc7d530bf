"""The one masking rule for secrets on their way into the journal.

Every journal writer (answers of the emulator, answers of faults) passes
each request through :func:`masked_headers`, :func:`masked_url` and
:func:`masked_bodies`, so a secret is masked whatever shape the client sent
it in.
"""

from __future__ import annotations

import json
import posixpath
import re
from typing import Any
from urllib.parse import unquote_plus

from omnitron_mock.body import media_type_of

PASSWORD_MASK = "********"
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-mock-admin-token"})
# Schemes whose credentials are an opaque token: the token's ends may show.
_TOKEN_SCHEMES = frozenset({"token", "bearer"})
# Schemes whose credentials hold a password or its digest (Basic is base64 of
# "user:password", so even its ends decode to the password's): nothing shows.
_OPAQUE_SCHEMES = frozenset({"basic", "digest", "negotiate", "ntlm", "hoba", "mutual", "scram-sha-1", "scram-sha-256"})
_SCHEMES = _TOKEN_SCHEMES | _OPAQUE_SCHEMES
# Form and query pairs: HTML forms use "&", older CGI libraries accept ";" too.
_PAIR_SEPARATORS = re.compile(r"[&;]")


def mask_secret(secret: str) -> str:
    """``8d5a…4c1c``: enough to tell tokens apart, not to reuse one."""
    return "****" if len(secret) <= 16 else f"{secret[:4]}…{secret[-4:]}"


def mask_authorization(value: str) -> str:
    """An ``Authorization`` value with every credential in it masked.

    Duplicated headers arrive joined by commas (``Token a, Token b``): each
    credential is masked on its own. After a token scheme (``Token``,
    ``Bearer``; any whitespace separates it) the token keeps its ends, as
    :func:`mask_secret` does; after ``Basic``, ``Digest`` and the other
    password schemes nothing of the credentials shows, up to the next
    credential. A value that does not start with a known scheme
    (``<token> Token``, a bare token) is all secret.
    """
    if "," not in value:
        # One credential (the usual case): no list to build.
        words = value.split()
        if not words:
            return value
        return _masked_credential(words) if words[0].lower() in _SCHEMES else mask_secret(" ".join(words))
    shown: list[str] = []
    opaque = False
    for part in value.split(","):
        words = part.split()
        if not words:
            continue
        if words[0].lower() not in _SCHEMES:
            # A Digest credential's parameters are comma-separated: they stay hidden.
            if not opaque:
                shown.append(mask_secret(" ".join(words)))
            continue
        opaque = words[0].lower() in _OPAQUE_SCHEMES
        shown.append(_masked_credential(words))
    return ", ".join(shown) if shown else mask_secret(value)


def _masked_credential(words: list[str]) -> str:
    """One credential, split at whitespace, that starts with a known scheme."""
    if len(words) == 1:
        return words[0]
    if words[0].lower() in _OPAQUE_SCHEMES:
        return f"{words[0]} {PASSWORD_MASK}"
    return f"{words[0]} {mask_secret(' '.join(words[1:]))}"


def masked_headers(headers: dict[str, str]) -> dict[str, str]:
    shown = {}
    for name, value in headers.items():
        lowered = name.lower()
        if lowered in ("authorization", "proxy-authorization"):
            shown[name] = mask_authorization(value)
        elif lowered in SECRET_HEADERS:
            shown[name] = mask_secret(value)
        else:
            # A Referer is a URL too: its query may hold a password.
            shown[name] = masked_url(value) if "?" in value else value
    return shown


def _is_password_key(key: str) -> bool:
    return "password" in key.lower()


def _mask_pairs(text: str) -> tuple[str, bool, bool]:
    """``text`` as ``key=value`` pairs separated by ``&`` or ``;``, each
    password's value masked; the rest stays as sent.

    Returns the text, whether a password key was found and whether every
    pair had its ``=`` (whether ``text`` reads as a form at all).
    """
    found = False
    well_formed = True
    pieces = []
    position = 0
    for separator in [*_PAIR_SEPARATORS.finditer(text), None]:
        end = separator.start() if separator is not None else len(text)
        pair = text[position:end]
        key, equals, _ = pair.partition("=")
        if equals and _is_password_key(unquote_plus(key)):
            pair = f"{key}={PASSWORD_MASK}"
            found = True
        elif pair.strip() and not equals:
            well_formed = False
        pieces.append(pair)
        if separator is not None:
            pieces.append(separator.group())
            position = separator.end()
    return "".join(pieces), found, well_formed


def masked_query(query: str) -> str:
    """A query string with the value of every ``password`` key masked."""
    if not query or "=" not in query:
        return query
    return _mask_pairs(query)[0]


def masked_url(url: str) -> str:
    """A path or URL with the ``password`` of its query masked."""
    head, mark, query = url.partition("?")
    return f"{head}{mark}{masked_query(query)}" if mark else url


def carries_credentials(path: str) -> bool:
    """Whether a request to ``path`` holds a password (any login route, however spelt)."""
    lowered = path.lower()
    if "login" not in lowered:  # most paths: no regular expression to run
        return False
    # Repeated slashes and dot segments ("auth///login", "auth/./login",
    # "auth/x/../login") spell the same route to a proxy that normalises them.
    return "auth/login" in posixpath.normpath(lowered)


def masked_bodies(path: str, content_type: str | None, body: bytes, response: str) -> tuple[bytes, str]:
    """The request and response bodies of a call to ``path`` as the journal may keep them.

    On a login route, the request's ``password`` is masked whatever its type
    and whatever the body's declared type (``curl -d '{...}'`` sends JSON as
    a form); a body whose password cannot be found (neither a form nor JSON,
    another charset the client did not declare) is not kept at all, only its
    length. The response's ``key`` is masked.
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
    # JSON first: a JSON object sent as a form (curl -d '{...}') would read
    # as one odd form field whose name holds the password.
    document = _masked_json(text)
    if document is not None:
        return document
    if (main, sub) == ("application", "x-www-form-urlencoded"):
        masked, found, well_formed = _mask_pairs(text)
        # A form without a password field (a username alone) has nothing to hide;
        # a segment without "=" may be part of a password the client did not encode.
        if well_formed and (found or "password" not in unquote_plus(text).lower()):
            return masked.encode("utf-8")
    return _withheld(body)


def _masked_json(text: str) -> bytes | None:
    """A JSON object with its passwords masked at any depth, or ``None``
    when ``text`` is not one that can be written back out."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(document, dict):
        return None
    stack: list[Any] = [document]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                if _is_password_key(key):
                    value[key] = PASSWORD_MASK
                else:
                    stack.append(item)
        elif isinstance(value, list):
            stack.extend(value)
    try:
        return json.dumps(document, ensure_ascii=False).encode("utf-8")
    except (ValueError, RecursionError, UnicodeEncodeError):
        return None


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
