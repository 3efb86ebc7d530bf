"""Keeping web pages away from the control API and the inspector.

A page the developer visits may send "simple" requests (forms,
``text/plain`` posts) to any address, the emulator on 127.0.0.1 included,
without the browser asking first. Browsers say where such a request comes
from (``Origin``, ``Sec-Fetch-Site``); curl and scripts say nothing and
keep working.

An origin is a scheme, a host and a port: ``https://localhost:8000`` is not
``http://localhost:8000``. The request's own scheme is the one its server
saw, or the one a trusted proxy reports in ``X-Forwarded-Proto`` (the HTTP
server honours that header only from ``--trusted-proxy``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from omnitron_mock.errors import APIError

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
# Sec-Fetch-Site values a request under /_mock/ may carry: the emulator's own
# pages, and an address typed or bookmarked. "same-site" is another port or
# another name under the same domain (another site for the Origin check too),
# "cross-site" any other site.
_FETCH_SITES_ALLOWED = ("same-origin", "none")


def _origin(scheme: str, netloc: str) -> tuple[str, str, str]:
    """(scheme, host, port) of an origin or of a request, lower case, default port filled in."""
    scheme = scheme.lower()
    netloc = netloc.strip().lower()
    host, _, port = netloc.rpartition(":") if not netloc.endswith("]") else (netloc, "", "")
    if not host or not (port.isascii() and port.isdigit()):
        host, port = netloc, _DEFAULT_PORTS.get(scheme, "")
    return scheme, host, port.lstrip("0") or "0"


def _own_origin(origin: str, host: str | None, scheme: str) -> bool:
    try:
        parts = urlsplit(origin.strip())
    except ValueError:  # "http://[::1" and the like: no origin a browser sends
        return False
    # "null" comes from sandboxed frames and file:// pages: not this site either.
    if not parts.scheme or not parts.netloc:
        return False
    return _origin(parts.scheme, parts.netloc) == _origin(scheme, host or "")


def cross_site_problem(origin: str | None, fetch_site: str | None, host: str | None, scheme: str) -> APIError | None:
    """Why a request to ``/_mock/`` must be refused as coming from another site, or None."""
    if fetch_site is not None and fetch_site.strip().lower() not in _FETCH_SITES_ALLOWED:
        return _refused(f"Sec-Fetch-Site says {fetch_site.strip()[:40]!r}")
    if origin is None:
        return None
    if not _own_origin(origin, host, scheme):
        return _refused(f"Origin {origin[:200]!r} is not this emulator")
    return None


def same_origin_evidence(origin: str | None, fetch_site: str | None, host: str | None, scheme: str) -> bool:
    """Whether the browser says the request comes from the emulator's own page:
    ``Origin`` names this emulator, or ``Sec-Fetch-Site`` says ``same-origin``.

    A page cannot set either header; clients that send neither are not browsers
    of this decade, or are browsers told to hide them.
    """
    if fetch_site is not None and fetch_site.strip().lower() == "same-origin":
        return True
    return origin is not None and _own_origin(origin, host, scheme)


def _refused(reason: str) -> APIError:
    return APIError(
        403,
        {
            "detail": f"Cross-site request refused ({reason}): the control API and the inspector answer "
            "their own pages and clients that send no Origin (curl, scripts, test code)."
        },
    )
