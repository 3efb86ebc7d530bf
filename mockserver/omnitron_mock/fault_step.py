"""Faults as a step of the emulated pipeline.

The step runs once the call is routed, before anything reads the body or
the store: it picks the faults that apply (from the ``X-Mock-Fault`` header
and the active faults), waits out their delays, and either lets the call go
on or hands the pipeline the answer that replaces the emulator's. Calls a
fault answers never reach an endpoint, so they change nothing.
"""

from __future__ import annotations

import contextlib
import time

from omnitron_mock.exchange import Call
from omnitron_mock.faults import HEADER, Answer, FaultError, Plan, parse_header, plan_request
from omnitron_mock.hooks import CLIENT_GONE_HOOK, PARK_HOOK, SLEEP_HOOK, STOPPING_HOOK, ClientGaveUp, ServerStopping
from omnitron_mock.jsonio import dumps
from omnitron_mock.service import Emulator

# The contract's cap on one delay, also applied to the sum of several.
MAX_DELAY_SECONDS = 600.0
# How often a wait looks at what ends it early: a clear in another process,
# a client that left, a server stopping. A clear in this process wakes it at once.
_POLL_SECONDS = 0.1
_HEADER_KEY = "HTTP_" + HEADER.upper().replace("-", "_")


class FaultStep:
    """Applies the faults of a call's world to it."""

    def run(self, call: Call) -> Answer | None:
        """The answer a fault gives in the emulator's place, or None to serve
        the call. Sets ``call.fault_note`` to what the faults did. Raises
        :class:`ClientGaveUp` or :class:`ServerStopping` when a delay ends
        with nobody left to answer (the note says so)."""
        header = call.environ.get(_HEADER_KEY)
        state = call.state
        store = state.store
        if not header and not store.faults():
            return None
        method = call.environ.get("REQUEST_METHOD", "GET").upper()
        path = call.environ.get("PATH_INFO", "")
        # Counted before the plan picks its faults: a clear that lands between
        # planning and waiting still cuts the wait short.
        clears = store.fault_clears()
        try:
            plan = self.plan(state, header, method, path)
        except FaultError as problem:
            call.fault_note = "invalid fault header"
            body = dumps({"detail": f"Invalid {HEADER} header: {problem}"}).encode("utf-8")
            return Answer("status", 400, {"Content-Type": "application/json"}, body, call.fault_note)
        call.fault_note = plan.description
        if plan.delay_seconds:
            if plan.delay_seconds > MAX_DELAY_SECONDS:
                call.fault_note = f"{call.fault_note}; capped at {MAX_DELAY_SECONDS * 1000:.0f} ms"
            try:
                if not self._wait(call, min(plan.delay_seconds, MAX_DELAY_SECONDS), clears):
                    call.fault_note = f"{call.fault_note}; cut short: faults cleared"
            except ClientGaveUp:
                call.fault_note = f"{call.fault_note}; the client gave up first"
                raise
            except ServerStopping:
                call.fault_note = f"{call.fault_note}; the server stopped first"
                raise
        return plan.answer

    def plan(self, state: Emulator, header: str | None, method: str, path: str) -> Plan:
        """The header's faults first, then the world's active ones (their counters move)."""
        plan = plan_request([parse_header(header, state.contracts)], method, path) if header else Plan()
        if plan.answer is not None or not state.store.faults():
            return plan
        stored = state.store.update_faults(lambda faults: plan_request(faults, method, path))
        return Plan(plan.delay_seconds + stored.delay_seconds, stored.answer, plan.applied + stored.applied)

    def _wait(self, call: Call, seconds: float, clears: int) -> bool:
        """Wait out a delay; False when faults were cleared since the store
        counted ``clears`` fault clears.

        Every clear ends every wait, a delay asked for by the request's own
        ``X-Mock-Fault`` header too: a waiting request stops waiting when
        faults are cleared.
        """
        environ = call.environ
        sleep = environ.get(SLEEP_HOOK)
        if sleep is not None:
            sleep(seconds)
            return True
        park = environ.get(PARK_HOOK)
        client_gone = environ.get(CLIENT_GONE_HOOK)
        stopping = environ.get(STOPPING_HOOK)
        signal = call.state.faults_cleared_signal
        with park() if park is not None else contextlib.nullcontext():
            deadline = time.monotonic() + seconds
            while (remaining := deadline - time.monotonic()) > 0:
                if call.state.store.fault_clears() != clears:
                    return False
                # Woken at once by a clear in this process; other processes' clears,
                # a client that left and a server stopping are noticed at the next poll.
                with signal:
                    signal.wait(min(remaining, _POLL_SECONDS))
                if stopping is not None and stopping():
                    raise ServerStopping
                if client_gone is not None and client_gone():
                    raise ClientGaveUp
        return True
