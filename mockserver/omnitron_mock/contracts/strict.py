"""The strict request profile: request schemas that refuse the fields they do not name.

The request contracts leave unknown fields open because the real service
ignores them; that is also how a misspelt ``tracking_no`` goes unnoticed. The
strict profile closes every object that names its properties, so any team's
validator reports such a field; free-form objects (``extra_field``,
``attributes``, ``attributes_kwargs``) name none and stay open.
"""

from __future__ import annotations

from typing import Any

from omnitron_mock.contracts.walk import map_subschemas

STRICT_NOTE = (
    "Strict request profile: every object that names its properties refuses any other "
    "(unevaluatedProperties: false), as `omnitron-mock validate` does without --allow-unknown-fields."
)


def strict_profile(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` (self-contained 2020-12) with ``unevaluatedProperties: false`` on each
    object schema that has ``properties`` and says nothing of other properties."""
    closed = _close(document, "")
    comment = closed.get("$comment")
    closed["$comment"] = f"{comment} {STRICT_NOTE}" if comment else STRICT_NOTE
    return closed


def _close(node: Any, _where: str) -> Any:
    if not isinstance(node, dict):
        return node
    closed = map_subschemas(node, _close)
    if "properties" in closed and "additionalProperties" not in closed and "unevaluatedProperties" not in closed:
        closed["unevaluatedProperties"] = False
    return closed
