"""Serving the app over HTTP with waitress, in the foreground or a thread."""

from __future__ import annotations

import threading
from typing import Any

from waitress import wasyncore
from waitress.channel import ClientDisconnected
from waitress.server import BaseWSGIServer, create_server

from mockserver.fault_middleware import DROP_HOOK, ConnectionDropped

DEFAULT_THREADS = 8


class _WaitressDrop(ClientDisconnected, ConnectionDropped):
    """waitress closes the connection, writing nothing, when the app raises this."""


def _disconnect() -> None:
    raise _WaitressDrop


def _with_drop_hook(app: Any) -> Any:
    def serve(environ: dict[str, Any], start_response: Any) -> Any:
        environ[DROP_HOOK] = _disconnect
        return app(environ, start_response)

    return serve


class HTTPServer:
    """A threaded WSGI server bound at construction (``port=0`` picks a free port)."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, threads: int = DEFAULT_THREADS) -> None:
        server = create_server(_with_drop_hook(app), host=host, port=port, threads=threads, ident="omnitron-mock")
        if not isinstance(server, BaseWSGIServer):
            # A name resolving to several addresses yields one socket per address.
            server = server.servers[0]  # type: ignore[attr-defined]
        self._server = server
        self._thread: threading.Thread | None = None
        self.host: str = server.effective_host
        self.port: int = int(server.effective_port)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def serve_forever(self) -> None:
        """Serve in this thread until :meth:`stop` or KeyboardInterrupt."""
        try:
            self._server.run()
        finally:
            self._server.task_dispatcher.shutdown()

    def start(self) -> HTTPServer:
        """Serve in a daemon thread; returns at once, already accepting."""
        self._thread = threading.Thread(target=self.serve_forever, name="omnitron-mock-server", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Close the listening socket and every connection, then wait for the loop."""
        # The close runs inside the server's own loop thread, where the socket
        # map may be changed safely; an empty map ends the loop.
        server_map = self._server._map
        self._server.trigger.pull_trigger(lambda: wasyncore.close_all(server_map))
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> HTTPServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
