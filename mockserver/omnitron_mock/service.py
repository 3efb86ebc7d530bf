"""One emulator instance and the control operations on it.

This is the emulator's service API: seeding, reset, strict mode, faults and
journal queries, in Python. The control API (``/_mock/...``), the inspector
page and the pytest plugin's handle are thin callers of it, as moto's
``/moto-api/`` is a URL table over one backend; a remote caller gets the
same operations over HTTP.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field, replace

from omnitron_mock.config import Settings
from omnitron_mock.contracts import Contracts
from omnitron_mock.faults import normalise_all, remove_fault
from omnitron_mock.journal import clear_verdicts, matches, present
from omnitron_mock.rules import Rules
from omnitron_mock.seed import build_seed
from omnitron_mock.store.base import OrderLimitExceeded, OrderQuery, Row, Store


@dataclass(frozen=True)
class SeedCounts:
    """How many users, orders and items a seed document brought."""

    users: int
    orders: int
    items: int


class QuotaExceeded(ValueError):
    """A tenant asked for more than its quota allows; the message says which and how to go on."""


class UsersFixed(ValueError):
    """A seed brought users to a tenant-per-user emulator, whose users come from its start."""


@dataclass
class Emulator:
    """The parts of one emulator (settings, contracts, rules, store) and what
    can be done to it besides the emulated API."""

    settings: Settings
    contracts: Contracts
    rules: Rules
    store: Store
    # In tenant mode: the tenant this world belongs to (None: requests that name no tenant),
    # and its quotas.
    tenant: str | None = None
    order_quota: int | None = None
    journal_quota: int | None = None
    # In tenant mode users come from the start (they decide the tenants): seeds may not add any.
    users_fixed: bool = False
    # Wakes requests waiting out a latency fault when faults are cleared.
    faults_cleared_signal: threading.Condition = field(default_factory=threading.Condition, repr=False)
    # The rules in each strictness, made once.
    _rules_by_strictness: dict[bool, Rules] = field(default_factory=dict, repr=False)

    # -- state -----------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the state and mode the server started with; the journal empties."""
        self.store.reset()
        self.set_strict(self.settings.strict)
        clear_verdicts()
        self._announce_fault_clear()

    def reset_if_unused_since(self, since: str) -> bool:
        """:meth:`reset`, unless the journal holds a request from ``since`` on
        (checked and reset in one store transaction); whether it reset."""
        if not self.store.reset_unless_used_since(since):
            return False
        self.set_strict(self.settings.strict)
        clear_verdicts()
        self._announce_fault_clear()
        return True

    def seed(self, document: object, *, replace: bool = False) -> SeedCounts:
        """Load a seed document on top of the current state (``replace``: drop
        every order and item first). Raises :class:`~omnitron_mock.seed.SeedError`
        naming each problem's JSON path, and loads nothing then."""
        data = build_seed(document, self.contracts)
        if data.users and self.users_fixed:
            raise UsersFixed(
                'In tenant mode users come from the startup seed and --user: send this seed without "users".'
            )
        try:
            self.store.load(data, replace=replace, order_limit=self.order_quota)
        except OrderLimitExceeded as limit:
            advice = "Seed fewer orders." if replace else "Seed fewer orders, or with ?replace=true."
            raise QuotaExceeded(
                f"This seed would leave the tenant with {limit.held} orders; its quota is {limit.limit}. {advice}"
            ) from None
        return SeedCounts(len(data.users), len(data.orders), len(data.items))

    def journal_full(self) -> bool:
        """Whether the tenant's journal holds its quota of entries: its API calls are refused until it is cleared."""
        return self.journal_quota is not None and self.store.journal_count() >= self.journal_quota

    def snapshot(self, max_orders: int | None = None) -> dict[str, list[Row]]:
        """Users and orders with their items (the first ``max_orders`` orders when given)."""
        return self.store.snapshot(max_orders)

    def item(self, item_id: int) -> Row | None:
        return self.store.get_item(item_id)

    def order(self, order_id: int) -> Row | None:
        return self.store.get_order(order_id)

    def items(self, order_id: int | None = None) -> list[Row]:
        """Every item by id, or the items of one order."""
        if order_id is None:
            return list(self.store.iter_items())
        return self.store.list_items(order_id, 0, 2**31)[1]

    def orders(self, is_send: bool | None = None) -> list[Row]:
        """Every order by ascending pk, as ``GET orders/{pk}/`` answers it;
        only those whose ``is_send`` is ``is_send`` when given."""
        if is_send is not None and not isinstance(is_send, bool):
            raise TypeError(f"is_send must be True, False or None, not {is_send!r}")
        return self.store.list_orders(OrderQuery(is_send=is_send), 0, 2**31)[1]

    def mappings(self, item_id: int | None = None) -> list[Row]:
        """ERP mappings by ascending pk (of one item when given): ``pk``,
        ``content_type``, ``object_id`` (the item), ``integration_type``,
        ``code`` and ``update_stock`` (whether the item's stock was released)."""
        return self.store.mappings(item_id)

    @property
    def strict(self) -> bool:
        """Whether strict status rules apply: as last switched in any process
        sharing the store, else as the settings say."""
        stored = self.store.strict_mode()
        return self.settings.strict if stored is None else stored

    def set_strict(self, strict: bool) -> None:
        """Switch strict mode for the requests that follow, in every worker process."""
        if self.store.strict_mode() != strict:
            self.store.set_strict_mode(strict)

    def current_rules(self) -> Rules:
        """The rules for a request now: strict or not as :attr:`strict` says."""
        strict = self.strict
        found = self._rules_by_strictness.get(strict)
        if found is None:
            found = self._rules_by_strictness[strict] = replace(self.rules, strict=strict)
        return found

    # -- faults ----------------------------------------------------------------------

    def faults(self) -> list[Row]:
        """Active faults with their use counters, in the order they apply."""
        return self.store.faults()

    def add_faults(self, specs: object) -> list[Row]:
        """Add one fault spec or a list of them (all or none); the added faults
        with their ids. Raises :class:`~omnitron_mock.faults.FaultError`."""
        added = normalise_all(specs, self.contracts)
        self.store.update_faults(lambda faults: faults.extend(copy.deepcopy(added)))
        return added

    def clear_faults(self, fault_id: str | None = None) -> bool:
        """Remove every fault, or the one with ``fault_id``; whether any was there.

        Requests waiting out a latency fault stop waiting, in every process.
        """
        if fault_id is None:
            self.store.update_faults(lambda faults: faults.clear())
            found = True
        else:
            found = self.store.update_faults(lambda faults: remove_fault(faults, fault_id))
        if found:
            self._announce_fault_clear()
        return found

    def _announce_fault_clear(self) -> None:
        self.store.count_fault_clear()
        with self.faults_cleared_signal:
            self.faults_cleared_signal.notify_all()

    # -- journal ---------------------------------------------------------------------

    def journal(self, *, method: str | None = None, path: str | None = None, status: int | None = None) -> list[Row]:
        """Journal entries in public form (with verdicts), oldest first;
        ``method`` exact (any case), ``path`` a substring, ``status`` exact."""
        return [
            present(entry, self.contracts) for entry in self.store.requests() if matches(entry, method, path, status)
        ]

    def recent_journal(self, limit: int, before_id: int | None = None) -> list[Row]:
        """Stored journal entries, newest first (see :meth:`Store.recent_requests`);
        :meth:`present` gives an entry's public form. Copies: changing one
        changes nothing stored."""
        return copy.deepcopy(self.store.recent_requests(limit, before_id))

    def journal_entry(self, entry_id: int) -> Row | None:
        """One entry in public form, while the journal still holds it."""
        found = self.store.recent_requests(1, entry_id + 1)
        if found and found[0]["id"] == entry_id:
            return present(found[0], self.contracts)
        return None

    def present(self, entry: Row) -> Row:
        """A stored entry in public form: bodies decoded, verdict added."""
        return present(entry, self.contracts)

    def clear_journal(self) -> None:
        self.store.clear_requests()
