"""Which ``Host`` headers the emulator answers to.

A page in the developer's browser can point a name it controls at
127.0.0.1 (DNS rebinding) and then read the emulator as its own origin.
The browser still sends that name in ``Host``: an emulator bound to a
loopback address answers only to loopback names and to the names it was
told about, as Django's ``ALLOWED_HOSTS`` does.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from omnitron_mock.config import ENV_PREFIX
from omnitron_mock.jsonio import dumps
from omnitron_mock.wire import status_line

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` listens on this machine alone."""
    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def configured_hosts(configured: Iterable[str]) -> tuple[str, ...] | None:
    """The ``Host`` names answered to when ``configured`` names are given:
    loopback names, then those names lower case, each once. ``None`` (no
    check of its own) when nothing is configured.

    The one place configured names are read: ``--allowed-host`` (through
    :func:`allowed_hosts_for`) and ``OMNITRON_MOCK_ALLOWED_HOSTS`` (through
    :meth:`omnitron_mock.config.Settings.from_env`, the WSGI entry's path).
    """
    names = [name.strip().lower() for name in configured if name.strip()]
    if not names:
        return None
    # Loopback names stay allowed beside configured ones: a rebinding page sends
    # its own name, and health checks inside a container send 127.0.0.1.
    return tuple(dict.fromkeys((*LOOPBACK_NAMES, *names)))


def allowed_hosts_for(bind_host: str, configured: Iterable[str] = ()) -> tuple[str, ...] | None:
    """The ``Host`` names a server bound to ``bind_host`` answers to: loopback
    names, and the ``configured`` ones (see :func:`configured_hosts`).

    ``None`` (any name) for a server bound to other interfaces with nothing
    configured: behind Docker or a proxy its public name is not known here.
    """
    names = configured_hosts(configured)
    if names is None and is_loopback(bind_host):
        return LOOPBACK_NAMES
    return names


def host_name(host_header: str) -> str:
    """``Host`` without its port, lower case, IPv6 brackets removed."""
    host = host_header.strip().lower()
    if host.startswith("["):
        end = host.find("]")
        port = host[end + 1 :] if end > 0 else ""
        if end > 0 and (not port or (port[:1] == ":" and port[1:].isascii() and port[1:].isdigit())):
            return host[1:end]
        # "[::1" or "[::1]evil.com" names no host: kept whole, it matches no allowed name.
        return host
    name, _, port = host.rpartition(":")
    return name if name and port.isascii() and port.isdigit() else host


def host_allowed(host_header: str | None, allowed: tuple[str, ...] | None) -> bool:
    """Whether a request naming ``host_header`` may be served.

    Loopback IP addresses in any spelling pass wherever loopback names do;
    ``*.localhost`` passes with ``localhost``; a configured ``.example.com``
    allows that domain and its subdomains, as in Django.
    """
    if allowed is None:
        return True
    if not host_header:
        return False
    name = host_name(host_header)
    for pattern in allowed:
        if pattern == "*" or name == pattern:
            return True
        if pattern.startswith(".") and (name == pattern[1:] or name.endswith(pattern)):
            return True
    if "localhost" in allowed:
        # A name still in brackets was malformed ("[::1"): no loopback spelling.
        return not name.startswith("[") and is_loopback(name)
    return False


def redirect_location(url: str, allowed: tuple[str, ...] | None) -> str:
    """Where a redirect points: the absolute URL only when its host was checked.

    An unchecked ``Host`` comes from the client and could name any site.
    """
    if allowed is not None:
        return url
    parts = urlsplit(url)
    return urlunsplit(("", "", parts.path, parts.query, parts.fragment))


class HostGuard:
    """Refuses, before anything else runs, requests naming a host not allowed."""

    def __init__(self, wsgi_app: WSGIApp, allowed: tuple[str, ...] | None) -> None:
        self.wsgi_app = wsgi_app
        self.allowed = allowed

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        host = environ.get("HTTP_HOST")
        if host_allowed(host, self.allowed):
            return self.wsgi_app(environ, start_response)
        shown = (host or "")[:100]
        body = dumps(
            {
                "detail": f"Invalid Host header: {shown!r}. The emulator answers loopback names only "
                f"unless started with --allowed-host {host_name(shown) or 'NAME'} (or {ENV_PREFIX}ALLOWED_HOSTS)."
            }
        ).encode("utf-8")
        start_response(status_line(400), [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]
