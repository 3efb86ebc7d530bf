"""In-process mode: ``requests`` calls to a base URL are answered by the Flask
app through ``responses`` — no socket, the same app, the same journal."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests
from omnitron_mock.hooks import SLEEP_HOOK, ClientGaveUp, ConnectionDropped
from werkzeug.test import EnvironBuilder, run_wsgi_app

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
DEFAULT_URL = "http://omnitron.test"


class InProcessTransport:
    """Routes every request under ``url`` to ``app``; other URLs are left to
    ``responses`` (refused unless registered or let through with
    ``add_passthru``, as ``responses`` is configured)."""

    def __init__(self, app: Any, url: str = DEFAULT_URL, mock: Any = None) -> None:
        import responses  # only this mode needs it

        self.app = app
        self.url = url.rstrip("/")
        self.mock = mock if mock is not None else responses.mock
        self._pattern = re.compile(re.escape(self.url) + r"(?:[/?#].*)?\Z")
        self._registered: list[Any] = []
        self._started_here = False

    def start(self) -> InProcessTransport:
        # responses keeps its patch in _patcher; there is no public "is active".
        self._started_here = getattr(self.mock, "_patcher", None) is None
        if self._started_here:
            self.mock.start()
        for method in METHODS:
            self._registered.append(
                # responses takes a list of header pairs too (repeated headers), though its hints say Mapping.
                self.mock.add_callback(method, self._pattern, callback=self._answer, content_type=None)  # type: ignore[arg-type]
            )
        return self

    def stop(self) -> None:
        for registered in self._registered:
            # a @responses.activate block may have reset the registry already
            with contextlib.suppress(ValueError):
                self.mock.remove(registered)
        self._registered.clear()
        if self._started_here:
            self.mock.stop(allow_assert=False)
            self.mock.reset()
            self._started_here = False

    def _answer(self, request: Any) -> tuple[int, list[tuple[str, str]], bytes]:
        parts = urlsplit(request.url)
        body = _body_bytes(request.body)
        headers = {
            name: value
            for name, value in request.headers.items()
            if name.lower() not in ("content-length", "transfer-encoding")
        }
        builder = EnvironBuilder(
            path=parts.path or "/",
            base_url=f"{parts.scheme}://{parts.netloc}",
            query_string=parts.query,
            method=request.method,
            headers=headers,
            data=body,
        )
        try:
            environ = builder.get_environ()
        finally:
            builder.close()
        environ[SLEEP_HOOK] = _sleeper(_read_timeout(getattr(request, "req_kwargs", {}).get("timeout")))
        try:
            app_iter, status, response_headers = run_wsgi_app(self.app, environ, buffered=True)
        except ConnectionDropped as dropped:
            raise requests.ConnectionError(f"Connection aborted: {dropped}", request=request) from None
        except ClientGaveUp:
            raise requests.ReadTimeout("Read timed out (the emulator's latency fault)", request=request) from None
        content = b"".join(app_iter)
        promised = response_headers.get("Content-Length")
        if promised is not None and request.method != "HEAD" and int(promised) > len(content):
            # What a client sees when the server closes before the promised length.
            missing = int(promised) - len(content)
            raise requests.exceptions.ChunkedEncodingError(
                f"Connection broken: IncompleteRead({len(content)} bytes read, {missing} more expected)",
                request=request,
            )
        # responses computes the length itself; a HEAD answer has none to carry.
        kept = [(name, value) for name, value in response_headers.items() if name.lower() != "content-length"]
        return int(status.split(" ", 1)[0]), kept, content


def _read_timeout(timeout: Any) -> float | None:
    if isinstance(timeout, tuple):
        return timeout[1]
    return timeout


def _sleeper(read_timeout: float | None) -> Callable[[float], None]:
    """Latency as a live server would show it: past the client's read timeout,
    the client gives up (without waiting)."""

    def sleep(seconds: float) -> None:
        if read_timeout is not None and seconds > read_timeout:
            raise ClientGaveUp
        time.sleep(seconds)

    return sleep


def _body_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, bytes):
        return body
    # a generator: requests sends it chunked
    return b"".join(chunk.encode("utf-8") if isinstance(chunk, str) else chunk for chunk in body)
