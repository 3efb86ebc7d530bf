"""Bulk load spread over one or more servers: requests per second and latency percentiles.

A fixed number of connections, each bound to one target (connection ``i``
to target ``i mod n``, as a round-robin TCP balancer places them) and one
user's token (connection ``i`` to token ``i mod m``: by default the one
development user; in tenant mode each user's token names its own world), each
sending the documented 3-item bulk with tracking numbers of its own (so that
every bulk changes its items, as an ERP's updates do) and waiting for the
answer before the next (a closed loop). Bounded in time (``seconds``; wrk
runs whole seconds) and in count (``max_requests``: a run that reaches it stops and says so, since its
rate would no longer be a rate over ``seconds``).

wrk drives it when installed (a C client: little of the machine's CPU goes
to the load); otherwise Python threads in this process do, which on a small
machine take a visible share of the CPU themselves. wrk's connections share
their thread's target and headers, so wrk runs one thread per (target,
token) pair at least: thread ``t`` holds connections ``i`` with ``i mod
threads == t``, which gives every connection the target and token above.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

from common import BULK_HEADERS, BULK_PATH, DEV_TOKEN, DOCUMENTED_REQUEST

# The documented body, its two tracking numbers replaced per request.
_TAG = "@TAG@"


def body_template() -> tuple[str, str, str]:
    """The documented bulk as three pieces: a request's tag goes between them."""
    document = json.loads(json.dumps(DOCUMENTED_REQUEST))
    items = document["orderitem_set"]
    items[1]["tracking_number"] = f"TR{_TAG}"
    items[2]["tracking_number"] = f"TS{_TAG}"
    head, middle, tail = json.dumps(document, separators=(",", ":")).split(_TAG)
    return head, middle, tail


@dataclass
class LoadResult:
    """One run of the load: what was answered, how fast, how late."""

    client: str
    connections: int
    seconds: float
    answered: int
    failed: int
    socket_errors: int
    capped: bool
    per_target: list[int]
    p50_ms: float
    p95_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        return self.answered / self.seconds

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "req_per_s": self.rate}


def run_load(
    urls: list[str],
    seconds: float,
    connections: int,
    max_requests: int,
    client: str = "auto",
    tokens: Sequence[str] = (DEV_TOKEN,),
    wrk_threads: int | None = None,
) -> LoadResult:
    """Load ``urls`` (base URLs) with bulks; ``client``: ``wrk``, ``python`` or
    ``auto``. Connection ``i`` goes to ``urls[i mod n]`` with ``tokens[i mod m]``.
    ``wrk_threads``: wrk's thread count (default the fewest that keeps every
    thread on one target and one token, and at least 2), a multiple of the
    (target, token) pairs; the same count for every row keeps them alike."""
    if client == "auto":
        client = "wrk" if shutil.which("wrk") else "python"
    pairs = math.lcm(len(urls), len(tokens))
    if connections % pairs:
        raise ValueError(
            f"{connections} connections do not spread evenly over {len(urls)} servers and {len(tokens)} users"
        )
    threads = max(2, pairs) if wrk_threads is None else wrk_threads
    if client == "wrk" and (threads % pairs or connections % threads):
        raise ValueError(
            f"{threads} wrk threads: the count must be a multiple of the {pairs} (server, user) pairs "
            f"and divide the {connections} connections"
        )
    if client == "wrk":
        found = _wrk(urls, list(tokens), seconds, connections, max_requests, threads)
    else:
        found = _python(urls, list(tokens), seconds, connections, max_requests)
    if found.capped:
        raise RuntimeError(
            f"the load reached its cap of {max_requests} requests within {seconds} s: "
            "raise --max-requests or shorten --seconds"
        )
    return found


def _wrk_script(urls: list[str], tokens: list[str], max_requests: int, threads: int) -> str:
    head, middle, tail = body_template()
    targets = ", ".join(f'{{"{parts.hostname}", "{parts.port}"}}' for parts in map(urlsplit, urls))
    headers = "".join(f'wrk.headers["{name}"] = "{value}"\n' for name, value in BULK_HEADERS.items())
    authorizations = ", ".join(json.dumps(f"Token {token}") for token in tokens)
    return f"""
wrk.method = "PATCH"
{headers}
local targets = {{{targets}}}
local authorizations = {{{authorizations}}}
local addresses = {{}}
for index, target in ipairs(targets) do addresses[index] = wrk.lookup(target[1], target[2])[1] end
local threads = {{}}
local cap = {math.ceil(max_requests / threads)}
local head, middle, tail = {json.dumps(head)}, {json.dumps(middle)}, {json.dumps(tail)}

function setup(thread)
  local index = #threads + 1
  -- Thread i talks to target i mod n as user i mod m: its connections all do.
  thread.addr = addresses[(index - 1) % #addresses + 1]
  thread:set("client", index)
  thread:set("target", (index - 1) % #addresses + 1)
  thread:set("authorization", authorizations[(index - 1) % #authorizations + 1])
  table.insert(threads, thread)
end

-- In the thread's own state, after setup's values arrived: its headers are its own.
function init(args)
  wrk.headers["Authorization"] = authorization
end

sent, answered, failed, capped = 0, 0, 0, 0

function request()
  sent = sent + 1
  local tag = client .. "-" .. sent
  return wrk.format(nil, "{BULK_PATH}", nil, head .. tag .. middle .. tag .. tail)
end

function response(status, headers, body)
  answered = answered + 1
  if status ~= 200 then failed = failed + 1 end
  if answered >= cap then
    capped = 1
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local per_target = {{}}
  for index = 1, #addresses do per_target[index] = 0 end
  local total_failed, total_capped = 0, 0
  for _, thread in ipairs(threads) do
    local target = thread:get("target")
    per_target[target] = per_target[target] + thread:get("answered")
    total_failed = total_failed + thread:get("failed")
    total_capped = total_capped + thread:get("capped")
  end
  local errors = summary.errors
  io.write(string.format(
    'RESULT {{"answered": %d, "duration_us": %d, "failed": %d, "socket_errors": %d, "capped": %d,'
    .. ' "per_target": [%s], "p50_us": %d, "p95_us": %d, "p99_us": %d}}\\n',
    summary.requests, summary.duration, total_failed,
    errors.connect + errors.read + errors.write + errors.timeout, total_capped,
    table.concat(per_target, ", "),
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


def _wrk(
    urls: list[str], tokens: list[str], seconds: float, connections: int, max_requests: int, threads: int
) -> LoadResult:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_wrk_script(urls, tokens, max_requests, threads))
    try:
        # wrk counts whole seconds; the rate below divides by the time it measured.
        command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s"]
        result = subprocess.run(
            [*command, "-s", script.name, urls[0] + BULK_PATH],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
        )
    finally:
        os.unlink(script.name)
    found = re.search(r"^RESULT (.*)$", result.stdout, re.MULTILINE)
    if result.returncode != 0 or found is None:
        raise RuntimeError(f"wrk failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}")
    figures = json.loads(found.group(1))
    return LoadResult(
        client="wrk",
        connections=connections,
        seconds=figures["duration_us"] / 1e6,
        answered=figures["answered"],
        failed=figures["failed"],
        socket_errors=figures["socket_errors"],
        capped=bool(figures["capped"]),
        per_target=figures["per_target"],
        p50_ms=figures["p50_us"] / 1000,
        p95_ms=figures["p95_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
    )


def _python(urls: list[str], tokens: list[str], seconds: float, connections: int, max_requests: int) -> LoadResult:
    head, middle, tail = body_template()
    targets = [urlsplit(url) for url in urls]
    latencies: list[list[float]] = [[] for _ in range(connections)]
    failed = [0] * connections
    socket_errors = [0] * connections
    budget = threading.Semaphore(max_requests)
    capped = threading.Event()
    started = time.perf_counter()
    stop = started + seconds

    def connection_loop(index: int) -> None:
        target = targets[index % len(targets)]
        headers = {**BULK_HEADERS, "Authorization": f"Token {tokens[index % len(tokens)]}"}
        connection = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
        sent = 0
        try:
            while time.perf_counter() < stop:
                if not budget.acquire(blocking=False):
                    capped.set()
                    return
                sent += 1
                tag = f"{index}-{sent}"
                payload = f"{head}{tag}{middle}{tag}{tail}".encode()
                began = time.perf_counter()
                try:
                    connection.request("PATCH", BULK_PATH, body=payload, headers=headers)
                    response = connection.getresponse()
                    response.read()
                except (OSError, http.client.HTTPException):
                    socket_errors[index] += 1
                    connection.close()
                    continue
                latencies[index].append(time.perf_counter() - began)
                if response.status != 200:
                    failed[index] += 1
        finally:
            connection.close()

    workers = [threading.Thread(target=connection_loop, args=(index,)) for index in range(connections)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    merged = sorted(value for values in latencies for value in values)
    per_target = [0] * len(targets)
    for index, values in enumerate(latencies):
        per_target[index % len(targets)] += len(values)
    return LoadResult(
        client="python",
        connections=connections,
        seconds=elapsed,
        answered=len(merged),
        failed=sum(failed),
        socket_errors=sum(socket_errors),
        capped=capped.is_set(),
        per_target=per_target,
        p50_ms=percentile(merged, 50) * 1000,
        p95_ms=percentile(merged, 95) * 1000,
        p99_ms=percentile(merged, 99) * 1000,
    )


def percentile(ordered: list[float], percent: float) -> float:
    """The nearest-rank percentile of sorted values (0 for none)."""
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]
