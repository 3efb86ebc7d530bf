"""The enums and strict-mode transition rules one emulator enforces."""

from __future__ import annotations

from dataclasses import dataclass

from omnitron_mock.contracts import Contracts, load_data


@dataclass(frozen=True)
class Rules:
    """Status table, courier slugs and limits, read from the contracts."""

    statuses: dict[str, str]
    shipping_companies: frozenset[str]
    max_items: int
    strict: bool
    status_rank: dict[str, int]
    final_statuses: frozenset[str]
    needs_tracking_number: frozenset[str]

    @classmethod
    def from_contracts(cls, contracts: Contracts, max_items: int, strict: bool) -> Rules:
        transitions = load_data("status-transitions")
        rank = {code: position for position, codes in enumerate(transitions["ranks"]) for code in codes}
        return cls(
            statuses=contracts.statuses(),
            shipping_companies=frozenset(contracts.shipping_companies()),
            max_items=max_items,
            strict=strict,
            status_rank=rank,
            final_statuses=frozenset(transitions["final"]),
            needs_tracking_number=frozenset(transitions["requires_tracking_number"]),
        )

    def describe(self, code: str) -> str:
        return f'"{code}" ({self.statuses.get(code, "unknown")})'

    def transition_problems(
        self, current: dict[str, object], new_status: str | None, new_tracking: str | None
    ) -> dict[str, list[str]]:
        """Strict-mode objections to moving ``current`` to ``new_status``."""
        problems: dict[str, list[str]] = {}
        old_status = str(current["status"])
        if new_status is not None and new_status != old_status:
            if old_status in self.final_statuses:
                problems["status"] = [f"Status cannot change once it is {self.describe(old_status)}."]
            elif self.status_rank.get(new_status, -1) < self.status_rank.get(old_status, -1) and (
                new_status in self.status_rank
            ):
                problems["status"] = [
                    f"Status cannot move back from {self.describe(old_status)} to {self.describe(new_status)}."
                ]
        if new_status in self.needs_tracking_number and not new_tracking and not current.get("tracking_number"):
            problems["tracking_number"] = [f"A tracking number is required for status {self.describe(new_status)}."]
        return problems
