"""The request inspector: a server-rendered page at ``/_mock/``.

It shows the journal (newest first, with contract verdicts), the state of
every order, the active faults, and offers reset and clear-faults buttons.
Plain HTML forms do the work, so everything but the auto-refresh works
without JavaScript; every asset is served from here (no CDN).
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, redirect, render_template, request, url_for

from mockserver.context import emulator
from mockserver.control import ADMIN_COOKIE, admin_problem, package_version
from mockserver.journal import present

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
_READ_BATCH = 250


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


def _filters() -> dict[str, str]:
    args = request.args
    status = args.get("status", "")
    verdict = args.get("verdict", "")
    return {
        "path": args.get("path", "").strip(),
        "status": status if status in STATUS_CLASSES else "",
        "verdict": verdict if verdict in VERDICTS else "",
    }


def _entries(filters: dict[str, str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The newest entries that pass ``filters`` (at most :data:`SHOWN_REQUESTS`),
    and the newest entry of all; read from the newest back, a batch at a time,
    so a refresh costs what it shows rather than the whole journal."""
    state = emulator()
    shown: list[dict[str, Any]] = []
    newest: list[dict[str, Any]] = []
    before_id = None
    while len(shown) < SHOWN_REQUESTS:
        batch = state.store.recent_requests(_READ_BATCH, before_id)
        if not batch:
            break
        newest = newest or batch[:1]
        before_id = batch[-1]["id"]
        for raw in batch:
            entry = present(raw, state.contracts)
            entry["badge"] = verdict_of(entry)
            if filters["path"] and filters["path"] not in entry["path"]:
                continue
            if filters["status"] and f"{entry['status'] // 100}xx" != filters["status"]:
                continue
            if filters["verdict"] and entry["badge"] != filters["verdict"]:
                continue
            entry["body_text"] = _pretty(entry["body"])
            entry["response_text"] = _pretty(entry["response"])
            shown.append(entry)
            if len(shown) == SHOWN_REQUESTS:
                break
    return shown, newest


def _changed_by_last_request(newest: list[dict[str, Any]]) -> set[int]:
    """Items the newest journalled request changed: a bulk answered 200."""
    for raw in newest:
        if raw["method"] == "PATCH" and raw["status"] == 200 and "bulk_status_update" in raw["path"]:
            try:
                return {item["id"] for item in json.loads(raw["response"])}
            except (ValueError, TypeError, KeyError, RecursionError):
                return set()
    return set()


def _context() -> dict[str, Any]:
    state = emulator()
    filters = _filters()
    entries, newest = _entries(filters)
    snapshot = state.store.snapshot(max_orders=SHOWN_ORDERS + 1)
    return {
        "version": package_version(),
        "filters": filters,
        "status_classes": STATUS_CLASSES,
        "verdicts": VERDICTS,
        "entries": entries,
        "orders": snapshot["orders"][:SHOWN_ORDERS],
        "more_orders": len(snapshot["orders"]) > SHOWN_ORDERS,
        "statuses": state.rules.statuses,
        "shown_requests": SHOWN_REQUESTS,
        "body_limit": state.settings.journal_body_bytes,
        "changed": _changed_by_last_request(newest),
        "faults": state.store.faults(),
        "strict": state.rules.strict,
        "guarded": bool(state.settings.admin_token),
        "query": request.query_string.decode("latin-1"),
    }


def _locked_out() -> Response | None:
    problem = admin_problem()
    if problem is None:
        return None
    page = render_template("inspector_login.html", wrong=problem.status == 403, version=package_version())
    return Response(page, status=problem.status, mimetype="text/html")


@blueprint.get("/")
def page() -> Response:
    return _locked_out() or Response(render_template("inspector.html", **_context()), mimetype="text/html")


@blueprint.get("/ui/fragment")
def fragment() -> Response:
    """The page's main part alone, for the auto-refresh."""
    return _locked_out() or Response(render_template("inspector_main.html", **_context()), mimetype="text/html")


@blueprint.post("/ui/login")
def login() -> Response:
    response = redirect(url_for("inspector.page"), code=303)
    response.set_cookie(
        ADMIN_COOKIE, request.form.get("admin_token", ""), httponly=True, samesite="Strict", path="/_mock"
    )
    return response


@blueprint.post("/ui/reset")
def reset() -> Response:
    locked = _locked_out()
    if locked is not None:
        return locked
    emulator().reset()
    return redirect(url_for("inspector.page"), code=303)


@blueprint.post("/ui/clear-faults")
def clear_faults() -> Response:
    locked = _locked_out()
    if locked is not None:
        return locked
    emulator().clear_faults()
    return redirect(url_for("inspector.page"), code=303)
