"""Strict mode of the bulk status update (SPEC section 3, "Strict mode").

The transition rules come from contracts/data/status-transitions.json; the
data-driven tests below derive their cases from that file, so changing the
file changes what they expect.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from omnitron_mock import Settings, contracts

BULK_PATH = "/api/i1/order_items/bulk_status_update/"

TRANSITIONS = contracts.load_data("status-transitions")
STATUS_NAMES = contracts.default_contracts().statuses()
RANKS: list[list[str]] = TRANSITIONS["ranks"]
RANK = {code: position for position, codes in enumerate(RANKS) for code in codes}
FINAL: list[str] = TRANSITIONS["final"]
NEEDS_TRACKING: list[str] = TRANSITIONS["requires_tracking_number"]
OFF_PATH = sorted(set(STATUS_NAMES) - set(RANK) - set(FINAL))

LENIENT = pytest.mark.parametrize("settings", [Settings()], ids=["lenient"], indirect=True)


@pytest.fixture
def settings(request: pytest.FixtureRequest) -> Settings:
    """Strict mode unless a test parametrizes ``settings`` indirectly."""
    return getattr(request, "param", Settings(strict=True))


# --- the messages of omnitron_mock/rules.py --------------------------------------


def _describe(code: str) -> str:
    return f'"{code}" ({STATUS_NAMES[code]})'


def needs_tracking(code: str) -> str:
    return f"A tracking number is required for status {_describe(code)}."


def moves_back(old: str, new: str) -> str:
    return f"Status cannot move back from {_describe(old)} to {_describe(new)}."


def is_final(code: str) -> str:
    return f"Status cannot change once it is {_describe(code)}."


# --- helpers ------------------------------------------------------------------


def patch(client: Any, auth: dict[str, str], items: list[Any]) -> Any:
    return client.patch(BULK_PATH, json={"orderitem_set": items}, headers=auth)


def stored_item(state: Any, item_id: int) -> dict[str, Any]:
    return next(item for order in state()["orders"] for item in order["items"] if item["id"] == item_id)


def seed_item(client: Any, status: str, tracking_number: str | None) -> int:
    """Add order 9 with item 91 at ``status``; return the item id."""
    item = {"id": 91, "status": status, "tracking_number": tracking_number}
    response = client.post("/_mock/seed", json={"orders": [{"id": 9, "items": [item]}]})
    assert response.status_code == 200, response.get_data(as_text=True)
    return 91


def assert_rejected(client: Any, auth: dict[str, str], state: Any, items: list[Any], expected: Any) -> None:
    before = state()
    response = patch(client, auth, items)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json() == expected
    assert state() == before


def assert_applied(client: Any, auth: dict[str, str], state: Any, items: list[Any]) -> None:
    response = patch(client, auth, items)
    assert response.status_code == 200, response.get_data(as_text=True)
    for sent in items:
        stored = stored_item(state, sent["id"])
        assert {k: stored[k] for k in sent} == sent


def entry(message: Any, orderitem_id: str) -> dict[str, Any]:
    return {"message": message, "args": {"orderitem_id": orderitem_id}}


# --- scenarios: refused in strict mode, all accepted when lenient ------------------

# Each scenario is a list of bulk requests (lists of items) on item 1 (seeded at
# "400" without a tracking number); the steps before the last always succeed.
# ``refusal`` is the strict-mode error message of the last step, or None.
SCENARIOS = [
    pytest.param(
        [[{"id": 1, "status": "500"}]],
        {"tracking_number": [needs_tracking("500")]},
        id="500-without-tracking",
    ),
    pytest.param(
        [[{"id": 1, "status": "510"}]],
        {"tracking_number": [needs_tracking("510")]},
        id="510-without-tracking",
    ),
    pytest.param(
        [[{"id": 1, "status": "500", "tracking_number": "TR1"}]],
        None,
        id="500-with-tracking-sent",
    ),
    pytest.param(
        [[{"id": 1, "tracking_number": "TR1"}], [{"id": 1, "status": "500"}]],
        None,
        id="500-with-tracking-stored",
    ),
    pytest.param(
        [[{"id": 1, "status": "500", "tracking_number": "TR1"}], [{"id": 1, "status": "450"}]],
        {"status": [moves_back("500", "450")]},
        id="backwards-500-to-450",
    ),
    pytest.param(
        [[{"id": 1, "status": "100"}], [{"id": 1, "status": "450"}]],
        {"status": [is_final("100")]},
        id="cancelled-to-450",
    ),
    pytest.param(
        [[{"id": 1, "status": "100"}], [{"id": 1, "status": "100", "tracking_number": "TR1"}]],
        None,
        id="cancelled-stays-cancelled",
    ),
    pytest.param(
        [[{"id": 1, "status": "500", "tracking_number": "TR1"}], [{"id": 1, "status": "600"}]],
        None,
        id="off-path-600-from-500",
    ),
    pytest.param([[{"id": 1, "status": "50"}]], None, id="off-path-50-from-400"),
    pytest.param([[{"id": 1, "status": "400"}]], None, id="same-status"),
    pytest.param(
        [[{"id": 1, "status": "500", "invoice_date": "x"}]],
        {
            "invoice_date": [
                "Datetime has wrong format. Use one of these formats instead: "
                "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
            ],
            "tracking_number": [needs_tracking("500")],
        },
        id="merges-with-field-errors",
    ),
]


@pytest.mark.parametrize(("steps", "refusal"), SCENARIOS)
def test_strict_scenario(client: Any, auth: dict[str, str], state: Any, steps: list[list[Any]], refusal: Any) -> None:
    *setup, last = steps
    for items in setup:
        assert_applied(client, auth, state, items)
    if refusal is None:
        assert_applied(client, auth, state, last)
    else:
        assert_rejected(client, auth, state, last, [entry(refusal, "1")])


# The invalid invoice_date of "merges-with-field-errors" is refused in both modes.
LENIENT_SCENARIOS = [scenario for scenario in SCENARIOS if scenario.id != "merges-with-field-errors"]


@LENIENT
@pytest.mark.parametrize(("steps", "refusal"), LENIENT_SCENARIOS)
def test_lenient_accepts_every_scenario(
    client: Any, auth: dict[str, str], state: Any, steps: list[list[Any]], refusal: Any
) -> None:
    for items in steps:
        assert_applied(client, auth, state, items)


def test_strict_refusal_is_atomic_across_items(client: Any, auth: dict[str, str], state: Any) -> None:
    assert_rejected(
        client,
        auth,
        state,
        [{"id": 1, "status": "450"}, {"id": 2, "status": "500"}, {"id": 3, "status": "500", "tracking_number": "T"}],
        [entry({"tracking_number": [needs_tracking("500")]}, "2")],
    )


def test_strict_error_makes_item_unfit_as_single_order_reference(client: Any, auth: dict[str, str], state: Any) -> None:
    assert_rejected(
        client,
        auth,
        state,
        [{"id": 4, "status": "500"}, {"id": 1, "status": "450"}, {"id": 5, "status": "450"}],
        [
            entry({"tracking_number": [needs_tracking("500")]}, "4"),
            entry(["You can only update one order at a time."], "5"),
        ],
    )


# --- derived from contracts/data/status-transitions.json ---------------------------

BACKWARD_PAIRS = [(old, new) for old, new in itertools.permutations(RANK, 2) if RANK[new] < RANK[old]]
FORWARD_PAIRS = [(old, new) for old, new in itertools.permutations(RANK, 2) if RANK[new] >= RANK[old]]


def test_transition_data_has_the_spec_path() -> None:
    """The file holds the path of SPEC section 3; the derived cases are not empty."""
    assert RANKS[:6] == [["200"], ["300"], ["350"], ["400"], ["450"], ["500"]]
    assert sorted(RANKS[6]) == ["510", "520", "540"]
    assert RANKS[7:] == [["550"]]
    assert FINAL == ["100"]
    assert sorted(NEEDS_TRACKING) == ["500", "510"]
    assert BACKWARD_PAIRS and FORWARD_PAIRS and OFF_PATH


@pytest.mark.parametrize(("old", "new"), BACKWARD_PAIRS, ids=[f"{o}-to-{n}" for o, n in BACKWARD_PAIRS])
def test_backwards_moves_refused(client: Any, auth: dict[str, str], state: Any, old: str, new: str) -> None:
    item_id = seed_item(client, old, "TR9")
    assert_rejected(
        client, auth, state, [{"id": item_id, "status": new}], [entry({"status": [moves_back(old, new)]}, str(item_id))]
    )


@LENIENT
@pytest.mark.parametrize(("old", "new"), BACKWARD_PAIRS, ids=[f"{o}-to-{n}" for o, n in BACKWARD_PAIRS])
def test_backwards_moves_allowed_when_lenient(
    client: Any, auth: dict[str, str], state: Any, old: str, new: str
) -> None:
    item_id = seed_item(client, old, None)
    assert_applied(client, auth, state, [{"id": item_id, "status": new}])


@pytest.mark.parametrize(("old", "new"), FORWARD_PAIRS, ids=[f"{o}-to-{n}" for o, n in FORWARD_PAIRS])
def test_forward_and_sideways_moves_allowed(client: Any, auth: dict[str, str], state: Any, old: str, new: str) -> None:
    item_id = seed_item(client, old, "TR9")
    assert_applied(client, auth, state, [{"id": item_id, "status": new}])


@pytest.mark.parametrize(
    ("final", "new"),
    [(f, s) for f in FINAL for s in STATUS_NAMES if s != f],
    ids=[f"{f}-to-{s}" for f in FINAL for s in STATUS_NAMES if s != f],
)
def test_final_status_cannot_change(client: Any, auth: dict[str, str], state: Any, final: str, new: str) -> None:
    item_id = seed_item(client, final, "TR9")
    assert_rejected(
        client, auth, state, [{"id": item_id, "status": new}], [entry({"status": [is_final(final)]}, str(item_id))]
    )


@pytest.mark.parametrize("code", sorted(STATUS_NAMES))
def test_tracking_number_requirement_follows_the_data(client: Any, auth: dict[str, str], state: Any, code: str) -> None:
    """From the start of the path without a tracking number, only the listed codes need one."""
    item_id = seed_item(client, RANKS[0][0], None)
    if code in NEEDS_TRACKING:
        assert_rejected(
            client,
            auth,
            state,
            [{"id": item_id, "status": code}],
            [entry({"tracking_number": [needs_tracking(code)]}, str(item_id))],
        )
        assert_applied(client, auth, state, [{"id": item_id, "status": code, "tracking_number": "TR9"}])
    else:
        assert_applied(client, auth, state, [{"id": item_id, "status": code}])


@pytest.mark.parametrize("code", OFF_PATH)
def test_off_path_codes_allowed_from_the_end_of_the_path(
    client: Any, auth: dict[str, str], state: Any, code: str
) -> None:
    item_id = seed_item(client, RANKS[-1][0], "TR9")
    assert_applied(client, auth, state, [{"id": item_id, "status": code}])
