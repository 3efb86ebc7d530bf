"""Logging in and the logged-in user: ``auth/login/``, ``active_user/``."""

from __future__ import annotations

import hmac

from omnitron_mock import fields
from omnitron_mock.endpoint import field_errors
from omnitron_mock.exchange import Call, Reply, json_reply
from omnitron_mock.store.base import Row


def login(call: Call, _user: Row | None) -> Reply:
    try:
        data = fields.expect_dict(call.json())
    except fields.Invalid as invalid:
        raise field_errors({"non_field_errors": invalid.messages}) from None
    problems: dict[str, list[str]] = {}
    credentials: dict[str, str] = {}
    for name, trim in (("username", True), ("password", False)):
        if name not in data:
            problems[name] = [fields.REQUIRED]
            continue
        value = data[name]
        try:
            credentials[name] = fields.text(value, max_length=4096) if trim else _password(value)
        except fields.Invalid as invalid:
            problems[name] = invalid.messages
    if problems:
        raise field_errors(problems)
    user = call.state.store.user_by_username(credentials["username"])
    password_ok = user is not None and hmac.compare_digest(
        user["password"].encode("utf-8", "surrogatepass"), credentials["password"].encode("utf-8", "surrogatepass")
    )
    if user is None or not password_ok or not user["is_active"]:
        raise field_errors({"non_field_errors": ["Unable to log in with provided credentials."]})
    return json_reply({"key": user["token"]})


def _password(value: object) -> str:
    if value is None:
        raise fields.Invalid(fields.NULL)
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise fields.Invalid(fields.NOT_A_STRING)
    # DRF's AuthTokenSerializer keeps the password untrimmed: only "" is blank.
    if str(value) == "":
        raise fields.Invalid(fields.BLANK)
    return str(value)


def active_user(_call: Call, user: Row) -> Reply:
    keys = ("pk", "username", "email", "first_name", "last_name", "is_active")
    return json_reply({key: user[key] for key in keys})
