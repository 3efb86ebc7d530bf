"""Ids in URL paths, as Django's ``<int:pk>`` routes and the database read them."""

from __future__ import annotations

from omnitron_mock import errors

# A primary key is a signed 64-bit column: a longer id names no row.
_LARGEST_ID = 2**63 - 1


def path_id(raw: str) -> int:
    if not raw.isascii() or not raw.isdigit() or len(raw) > len(str(_LARGEST_ID)):
        raise errors.not_found()
    value = int(raw)
    if value > _LARGEST_ID:
        raise errors.not_found()
    return value
