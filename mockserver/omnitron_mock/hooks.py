"""What a server may put into the WSGI environ to help with faults, and the
exceptions that leave the emulator when a request goes unanswered.

Some faults are not responses at all: a dropped connection needs the
server's help (waitress, gunicorn), and a long delay should not hold one of
the server's worker threads.
"""

from __future__ import annotations

# A callable that closes the connection without a byte; it raises.
DROP_HOOK = "omnitron_mock.drop_connection"
# A callable that sleeps the given seconds (in-process transports, where no
# client can leave and nothing else needs the thread).
SLEEP_HOOK = "omnitron_mock.sleep"
# A callable returning a context manager: while a delayed request waits inside
# it, the server keeps a thread free for everyone else.
PARK_HOOK = "omnitron_mock.park"
# A callable telling whether the client has closed its connection, so a wait
# can end early.
CLIENT_GONE_HOOK = "omnitron_mock.client_gone"
# A callable telling whether the server is stopping; a wait then ends at once
# and the request goes unanswered (:class:`ServerStopping`).
STOPPING_HOOK = "omnitron_mock.stopping"


class ConnectionDropped(Exception):
    """A dropped connection on its way out: servers with a drop hook raise a
    subclass they understand; without one (test clients) this reaches the caller."""


class ClientGaveUp(Exception):
    """The client left while its request waited out a delay: raised by a
    sleep hook, or by the fault step when the client-gone hook says so."""


class ServerStopping(Exception):
    """Raised when the server stops while a request waits out a latency fault:
    servers close the connection unanswered."""


UNANSWERED = (ConnectionDropped, ClientGaveUp, ServerStopping)
