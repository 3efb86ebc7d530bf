"""The request inspector: a server-rendered page at ``/_mock/``.

It shows the journal (newest first, with contract verdicts), the state of
every order (whether it is marked sent, its last change, each item's ERP
mapping and stock), the active faults, and offers reset and clear-faults
buttons.
Plain HTML forms do the work, so everything but the auto-refresh works
without JavaScript; every asset is served from here (no CDN).

Its forms post only with evidence that they come from its own page: an
``Origin`` naming the emulator, ``Sec-Fetch-Site: same-origin``, or the
token the page puts in each form (random, one per server process).

A refresh with filters searches the newest :data:`SEARCHED_REQUESTS`
journal entries at most, and says so on the page when older ones were left
out (``GET /_mock/requests`` filters the whole journal).

The list shows previews: each entry's headers, body and response up to
:data:`PREVIEW_CHARS` characters, its first :data:`PREVIEW_FINDINGS` schema
errors and unknown fields, and a link to the entry's own page
(``/_mock/ui/requests/<id>``), which shows all the journal kept of it. A
refresh then costs about the same whatever clients sent.
"""

from __future__ import annotations

import hmac
import json
import re
import secrets
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from omnitron_mock.access import ADMIN_COOKIE, TENANT_PARAMETER, access_problem, caller, tenants
from omnitron_mock.context import emulator
from omnitron_mock.control import package_version, reset_caller_worlds
from omnitron_mock.endpoints import PREFIXES
from omnitron_mock.errors import APIError
from omnitron_mock.journal import HEADER_BYTES, HEADERS_BYTES
from omnitron_mock.site_guard import same_origin_evidence

blueprint = Blueprint(
    "inspector",
    __name__,
    url_prefix="/_mock",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

STATUS_CLASSES = ("2xx", "3xx", "4xx", "5xx")
VERDICTS = {"ok": "ok", "schema": "schema errors", "unknown": "unknown fields", "fault": "fault injected"}
SHOWN_ORDERS = 200
SHOWN_REQUESTS = 200
# A filtered refresh looks at this many of the newest journal entries at most.
SEARCHED_REQUESTS = 1000
_READ_BATCH = 250
# What the list shows of each entry (its own page shows all of it): so many
# characters of its headers, body and response, of its path and query, and so
# many schema errors and unknown fields.
PREVIEW_CHARS = 2048
PREVIEW_PATH_CHARS = 512
PREVIEW_FINDINGS = 10
_METHOD_CHARS = 40
# Bodies up to this many characters are laid out as indented JSON in a
# preview; longer ones are shown as stored (laying them out costs more than
# the preview shows).
_PRETTY_CHARS = 16 * 1024
# The hidden field of the inspector's forms; its value is this process's token.
FORM_TOKEN_FIELD = "csrf_token"
_FORM_TOKEN = secrets.token_urlsafe(32)


def verdict_of(entry: dict[str, Any]) -> str:
    """The badge of one journal entry."""
    if entry.get("fault"):
        return "fault"
    if entry["verdict"]["schema_errors"]:
        return "schema"
    if entry["verdict"]["unknown_fields"]:
        return "unknown"
    return "ok"


def _pretty(value: Any) -> str:
    if value is None or value == "":
        return "(empty)"
    return value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)


def _cut(text: str, limit: int) -> tuple[str, int | None]:
    """(the first ``limit`` characters of ``text``, its length) when it is
    longer, else (``text``, None)."""
    if len(text) <= limit:
        return text, None
    return text[:limit], len(text)


def _headers_text(headers: dict[str, str]) -> str:
    return "".join(f"{name}: {value}\n" for name, value in headers.items())


def _preview_text(value: Any, stored: str) -> str:
    """What a preview shows of a body: as :func:`_pretty` lays it out when it
    is short, as stored when it is long JSON."""
    if isinstance(value, (dict, list)) and len(stored) > _PRETTY_CHARS:
        return stored
    return _pretty(value)


def _previewed(raw: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    """``entry`` (presented) with what the list shows of it."""
    target = entry["path"] + (f"?{entry['query']}" if entry.get("query") else "")
    entry["target_text"], entry["target_length"] = _cut(target, PREVIEW_PATH_CHARS)
    entry["method_text"] = _cut(entry["method"], _METHOD_CHARS)[0]
    entry["headers_text"], entry["headers_text_length"] = _cut(_headers_text(entry["headers"]), PREVIEW_CHARS)
    entry["body_text"], entry["body_text_length"] = _cut(_preview_text(entry["body"], raw["body"]), PREVIEW_CHARS)
    entry["response_text"], entry["response_text_length"] = _cut(
        _preview_text(entry["response"], raw["response"]), PREVIEW_CHARS
    )
    if entry.get("fault"):
        entry["fault"] = _cut(entry["fault"], PREVIEW_CHARS)[0]
    verdict = entry["verdict"]
    entry["schema_errors"] = verdict["schema_errors"][:PREVIEW_FINDINGS]
    entry["more_schema_errors"] = len(verdict["schema_errors"]) - len(entry["schema_errors"])
    entry["unknown_fields"] = verdict["unknown_fields"][:PREVIEW_FINDINGS]
    entry["more_unknown_fields"] = len(verdict["unknown_fields"]) - len(entry["unknown_fields"])
    return entry


def _whole(entry: dict[str, Any]) -> dict[str, Any]:
    """``entry`` (presented) with all the journal kept of it, for its own page."""
    entry["target_text"] = entry["path"] + (f"?{entry['query']}" if entry.get("query") else "")
    entry["method_text"] = entry["method"]
    entry["headers_text"] = _headers_text(entry["headers"])
    entry["body_text"] = _pretty(entry["body"])
    entry["response_text"] = _pretty(entry["response"])
    entry["schema_errors"] = entry["verdict"]["schema_errors"]
    entry["unknown_fields"] = entry["verdict"]["unknown_fields"]
    return entry


def _filters() -> dict[str, str]:
    args = request.args
    status = args.get("status", "")
    verdict = args.get("verdict", "")
    return {
        "path": args.get("path", "").strip(),
        "status": status if status in STATUS_CLASSES else "",
        "verdict": verdict if verdict in VERDICTS else "",
    }


def _passes(raw: dict[str, Any], filters: dict[str, str]) -> bool:
    """Whether a stored entry can pass ``filters``, told from its raw fields
    (the verdict, which costs a schema check, is looked at later)."""
    if filters["path"] and filters["path"] not in raw["path"]:
        return False
    status = raw.get("status")
    if filters["status"] and not (isinstance(status, int) and f"{status // 100}xx" == filters["status"]):
        return False
    # A fault's badge is "fault" whatever the body's verdict.
    return not filters["verdict"] or (filters["verdict"] == "fault") == bool(raw.get("fault"))


def _entries(filters: dict[str, str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]], bool]:
    """The newest entries that pass ``filters`` (at most :data:`SHOWN_REQUESTS`),
    the newest entry of all, and whether older entries were left unsearched.

    Read from the newest back, a batch at a time, and no further than
    :data:`SEARCHED_REQUESTS` entries, so a refresh costs what it shows
    rather than the whole journal; entries are filtered before their
    bodies are decoded and their verdicts worked out."""
    state = emulator()
    shown: list[dict[str, Any]] = []
    newest: list[dict[str, Any]] = []
    before_id = None
    searched = 0
    while len(shown) < SHOWN_REQUESTS:
        if searched >= SEARCHED_REQUESTS:
            # Say so only when something older was left out.
            return shown, newest, bool(state.recent_journal(1, before_id))
        batch = state.recent_journal(min(_READ_BATCH, SEARCHED_REQUESTS - searched), before_id)
        if not batch:
            break
        newest = newest or batch[:1]
        before_id = batch[-1]["id"]
        searched += len(batch)
        for raw in batch:
            if not _passes(raw, filters):
                continue
            entry = state.present(raw)
            entry["badge"] = verdict_of(entry)
            if filters["verdict"] and entry["badge"] != filters["verdict"]:
                continue
            shown.append(_previewed(raw, entry))
            if len(shown) == SHOWN_REQUESTS:
                break
    return shown, newest, False


# The writes of one item or one order, as journalled paths name them: ASCII
# digits, at most 19 (what the routes answer 200 or 201 for; see path_ids).
_PREFIX = "(?:" + "|".join(re.escape(prefix) for prefix in PREFIXES) + ")"
_ITEM_UPDATE = re.compile(_PREFIX + r"/order_items/([0-9]{1,19})/")
_MAPPING = re.compile(_PREFIX + r"/order_items/([0-9]{1,19})/create_mapping/")
_ORDER_UPDATE = re.compile(_PREFIX + r"/orders/([0-9]{1,19})/")


def _changed_by_last_request(newest: list[dict[str, Any]]) -> tuple[set[int], set[int]]:
    """(items, orders) the newest journalled request changed: a bulk or an
    item's PATCH answered 200, a new mapping (201), an order's PATCH (200)."""
    for raw in newest:
        method, status, path = raw["method"], raw["status"], raw["path"]
        if method == "PATCH" and status == 200 and "bulk_status_update" in path:
            try:
                return {item["id"] for item in json.loads(raw["response"])}, set()
            except (ValueError, TypeError, KeyError, RecursionError):
                return set(), set()
        patched = method == "PATCH" and status == 200
        item_id = _written_id(_ITEM_UPDATE, path, patched)
        if item_id is None:
            item_id = _written_id(_MAPPING, path, method == "POST" and status == 201)
        if item_id is not None:
            return {item_id}, set()
        order_id = _written_id(_ORDER_UPDATE, path, patched)
        return set(), set() if order_id is None else {order_id}
    return set(), set()


def _written_id(route: re.Pattern[str], path: str, written: bool) -> int | None:
    """The id in ``path`` when the request ``written`` to ``route``."""
    found = route.fullmatch(path) if written else None
    return None if found is None else int(found.group(1))


def _mappings_of(orders: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """The ERP mapping of each shown item that has one, by item id: looked up
    item by item, so a refresh costs what it shows whatever was mapped."""
    state = emulator()
    return {
        mapping["object_id"]: mapping
        for order in orders
        for item in order["items"]
        for mapping in state.mappings(item["id"])
    }


def _context() -> dict[str, Any]:
    state = emulator()
    filters = _filters()
    entries, newest, unsearched = _entries(filters)
    snapshot = state.snapshot(max_orders=SHOWN_ORDERS + 1)
    orders = snapshot["orders"][:SHOWN_ORDERS]
    changed_items, changed_orders = _changed_by_last_request(newest)
    return {
        "version": package_version(),
        "filters": filters,
        "status_classes": STATUS_CLASSES,
        "verdicts": VERDICTS,
        "entries": entries,
        "orders": orders,
        "mappings": _mappings_of(orders),
        "more_orders": len(snapshot["orders"]) > SHOWN_ORDERS,
        "statuses": state.rules.statuses,
        "shown_requests": SHOWN_REQUESTS,
        "searched_requests": SEARCHED_REQUESTS,
        "unsearched": unsearched,
        "form_token": _FORM_TOKEN,
        "body_limit": state.settings.journal_body_bytes,
        "header_bytes": HEADER_BYTES,
        "headers_bytes": HEADERS_BYTES,
        "changed": changed_items,
        "changed_orders": changed_orders,
        "faults": state.faults(),
        "strict": state.strict,
        "guarded": bool(state.settings.admin_token) or tenants() is not None,
        "tenant": state.tenant,
        # The admin's reset on the root world resets every tenant: the button says so.
        "every_world": caller().everything,
        # The admin on the root world picks a tenant to look at from these.
        "tenant_names": found.names() if (found := tenants()) is not None and caller().everything else [],
        "query": request.query_string.decode("latin-1"),
    }


def _locked_out() -> Response | None:
    problem = access_problem()
    if problem is None:
        return None
    page = render_template(
        "inspector_login.html",
        wrong=problem.status == 403,
        problem=problem.body.get("detail") if problem.status != 401 else None,
        tenant_mode=tenants() is not None,
        version=package_version(),
        form_token=_FORM_TOKEN,
    )
    return Response(page, status=problem.status, mimetype="text/html")


@blueprint.context_processor
def tenant_arguments() -> dict[str, Any]:
    """The ``tenant`` an admin is looking at, for every link and form of the page to keep."""
    named = request.args.get(TENANT_PARAMETER)
    return {"tenant_args": {TENANT_PARAMETER: named} if named else {}}


@blueprint.before_request
def require_own_page() -> None:
    """The inspector's forms change state (or, for the login, the cookie):
    they are taken only from the inspector's own page."""
    if request.method != "POST":
        return
    if same_origin_evidence(
        request.headers.get("Origin"), request.headers.get("Sec-Fetch-Site"), request.host, request.scheme
    ):
        return
    if _form_token_matches(request.form.get(FORM_TOKEN_FIELD)):
        return
    raise APIError(
        403,
        {
            "detail": "Inspector form refused: it names no Origin of this emulator, no Sec-Fetch-Site: same-origin "
            "and not the token of the inspector's page. Post it from the page at /_mock/ (reload the page after "
            "a restart; behind a load balancer, send the Origin header as browsers do, since each replica's page "
            "has a token of its own), or use the JSON control API (POST /_mock/reset, DELETE /_mock/faults)."
        },
    )


def _form_token_matches(given: str | None) -> bool:
    if not given:
        return False
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), _FORM_TOKEN.encode("ascii"))


@blueprint.get("/")
def page() -> Response:
    return _locked_out() or Response(render_template("inspector.html", **_context()), mimetype="text/html")


@blueprint.get("/ui/fragment")
def fragment() -> Response:
    """The page's main part alone, for the auto-refresh."""
    return _locked_out() or Response(render_template("inspector_main.html", **_context()), mimetype="text/html")


@blueprint.get("/ui/requests/<int:entry_id>")
def entry_page(entry_id: int) -> Response:
    """One journal entry, all the journal kept of it."""
    locked = _locked_out()
    if locked is not None:
        return locked
    state = emulator()
    entry = state.journal_entry(entry_id)
    if entry is not None:
        entry = _whole(entry)
        entry["badge"] = verdict_of(entry)
    page = render_template(
        "inspector_entry.html",
        entry=entry,
        entry_id=entry_id,
        version=package_version(),
        verdicts=VERDICTS,
        body_limit=state.settings.journal_body_bytes,
        header_bytes=HEADER_BYTES,
        headers_bytes=HEADERS_BYTES,
    )
    return Response(page, status=200 if entry else 404, mimetype="text/html")


@blueprint.post("/ui/login")
def login() -> BaseResponse:
    response = redirect(url_for("inspector.page", **_tenant_args()), code=303)
    response.set_cookie(
        ADMIN_COOKIE, request.form.get("admin_token", ""), httponly=True, samesite="Strict", path="/_mock"
    )
    return response


@blueprint.post("/ui/reset")
def reset() -> BaseResponse:
    return _act(reset_caller_worlds)


@blueprint.post("/ui/clear-faults")
def clear_faults() -> BaseResponse:
    return _act(lambda: emulator().clear_faults())


def _act(action: Callable[[], object]) -> BaseResponse:
    """A button's form: checked as every inspector request is, then back to the page."""
    locked = _locked_out()
    if locked is not None:
        return locked
    action()
    return redirect(url_for("inspector.page", **_tenant_args()), code=303)


def _tenant_args() -> dict[str, Any]:
    named = request.args.get(TENANT_PARAMETER)
    return {TENANT_PARAMETER: named} if named else {}
