"""Keeping web pages away from the control API and the inspector.

A page the developer visits may send "simple" requests (forms,
``text/plain`` posts) to any address, the emulator on 127.0.0.1 included,
without the browser asking first. Browsers say where such a request comes
from (``Origin``, ``Sec-Fetch-Site``); curl and scripts say nothing and
keep working.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from mockserver.errors import APIError

# The inspector serves its own script and stylesheet; nothing else may run or frame it.
INSPECTOR_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # "no-referrer" would make the browser send "Origin: null" on the page's own forms.
    "Referrer-Policy": "same-origin",
}

_DEFAULT_PORTS = {"http": "80", "https": "443"}


def _authority(scheme: str, netloc: str) -> str:
    host, _, port = netloc.lower().rpartition(":") if not netloc.endswith("]") else (netloc.lower(), "", "")
    if not host or not port.isdigit():
        host, port = netloc.lower(), _DEFAULT_PORTS.get(scheme, "")
    return f"{host}:{port}"


def cross_site_problem(origin: str | None, fetch_site: str | None, host: str | None, scheme: str) -> APIError | None:
    """Why a request to ``/_mock/`` must be refused as coming from another site, or None."""
    if fetch_site is not None and fetch_site.strip().lower() == "cross-site":
        return _refused("Sec-Fetch-Site says cross-site")
    if origin is None:
        return None
    parts = urlsplit(origin.strip())
    if not parts.scheme or not parts.netloc:
        # "null" comes from sandboxed frames and file:// pages: not this site either.
        return _refused(f"Origin {origin!r} is not this emulator")
    if _authority(parts.scheme, parts.netloc) != _authority(scheme, host or ""):
        return _refused(f"Origin {origin!r} is not this emulator")
    return None


def _refused(reason: str) -> APIError:
    return APIError(
        403,
        {
            "detail": f"Cross-site request refused ({reason}): the control API and the inspector answer "
            "their own pages and clients that send no Origin (curl, scripts, test code)."
        },
    )
