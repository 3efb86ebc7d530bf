"""Settings of one emulator instance, from code, CLI flags or environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

DEV_USERNAME = "mock-user"
DEV_PASSWORD = "mock-password"
DEV_TOKEN = "8d5ad200b6286fd7fedadaced3c567b20cce1c4c"

ENV_PREFIX = "OMNITRON_MOCK_"


@dataclass(frozen=True)
class UserSpec:
    """A user given on the command line: ``NAME:PASSWORD[:TOKEN]``."""

    username: str
    password: str
    token: str | None = None

    @classmethod
    def parse(cls, text: str) -> UserSpec:
        parts = text.split(":", 2)
        if len(parts) < 2 or not parts[0] or not parts[1]:
            raise ValueError(f"expected NAME:PASSWORD[:TOKEN], got {text!r}")
        token = parts[2] if len(parts) == 3 and parts[2] else None
        if token is not None and (len(token) > 128 or not token.isascii() or not token.isprintable() or " " in token):
            raise ValueError(f"token of user {parts[0]!r} must be 1-128 printable ASCII characters without spaces")
        return cls(parts[0], parts[1], token)


@dataclass(frozen=True)
class Settings:
    """Everything that shapes the emulator's behaviour; defaults are docs/configuration.md's."""

    strict: bool = False
    max_body_bytes: int = 1024 * 1024
    max_items: int = 1000
    page_size: int = 100
    journal_limit: int = 10_000
    extra_statuses: dict[str, str] = field(default_factory=dict)
    extra_shipping_companies: tuple[str, ...] = ()
    db: str | None = None
    admin_token: str | None = None
    # Host names the emulator answers to; None answers to any (see omnitron_mock.hosts).
    allowed_hosts: tuple[str, ...] | None = None
    # Control API bodies (seeds above all) may be larger than API bodies.
    max_control_body_bytes: int = 64 * 1024 * 1024
    # The journal keeps each body up to this size and all entries within the total.
    journal_body_bytes: int = 64 * 1024
    journal_bytes: int = 64 * 1024 * 1024
    # Tenant mode (docs/shared-deployment.md): each user's credentials name a world of its own.
    tenant_per_user: bool = False
    tenant_max_orders: int = 10_000
    tenant_max_journal: int = 10_000
    # A tenant unseen this long goes back to the startup seed; 0 keeps every tenant.
    tenant_idle_seconds: int = 86_400

    def __post_init__(self) -> None:
        if self.admin_token is not None:
            check_admin_token(self.admin_token)
        for name in ("tenant_max_orders", "tenant_max_journal"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.tenant_idle_seconds < 0:
            raise ValueError(f"tenant_idle_seconds must be 0 or more, got {self.tenant_idle_seconds}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read ``OMNITRON_MOCK_*`` variables; unset ones keep their defaults."""

        def get(name: str) -> str | None:
            return env_value(name, environ)

        values: dict[str, object] = {}
        if (strict := get("STRICT")) is not None:
            values["strict"] = parse_bool(strict, ENV_PREFIX + "STRICT")
        if (tenants := get("TENANT_PER_USER")) is not None:
            values["tenant_per_user"] = parse_bool(tenants, ENV_PREFIX + "TENANT_PER_USER")
        for key, name in (
            ("max_body_bytes", "MAX_BODY_BYTES"),
            ("max_items", "MAX_ITEMS"),
            ("page_size", "PAGE_SIZE"),
            ("journal_limit", "JOURNAL_LIMIT"),
            ("max_control_body_bytes", "MAX_CONTROL_BODY_BYTES"),
            ("journal_body_bytes", "JOURNAL_BODY_BYTES"),
            ("journal_bytes", "JOURNAL_BYTES"),
            ("tenant_max_orders", "TENANT_MAX_ORDERS"),
            ("tenant_max_journal", "TENANT_MAX_JOURNAL"),
        ):
            if (raw := get(name)) is not None:
                values[key] = parse_positive_int(raw, ENV_PREFIX + name)
        if (raw := get("TENANT_IDLE_SECONDS")) is not None:
            values["tenant_idle_seconds"] = parse_whole_number(raw, ENV_PREFIX + "TENANT_IDLE_SECONDS")
        if (raw := get("EXTRA_STATUSES")) is not None:
            values["extra_statuses"] = parse_statuses(raw)
        if (raw := get("EXTRA_SHIPPING_COMPANIES")) is not None:
            values["extra_shipping_companies"] = parse_list(raw)
        if (raw := get("DB")) is not None:
            values["db"] = raw
        # Set but empty is an error, not "unset": see __post_init__.
        if (raw := (os.environ if environ is None else environ).get(ENV_PREFIX + "ADMIN_TOKEN")) is not None:
            values["admin_token"] = raw
        if (raw := get("ALLOWED_HOSTS")) is not None:
            # The CLI's --allowed-host names go through the same function.
            from omnitron_mock.hosts import configured_hosts

            values["allowed_hosts"] = configured_hosts(parse_list(raw))
        return cls(**values)  # type: ignore[arg-type]


def check_admin_token(token: str) -> None:
    """Refuse an admin token that would leave the control API open or lock everyone out.

    An empty token would silently leave it open. The token travels in an
    HTTP header, which carries ASCII byte for byte: a token with other
    characters (``tökén``), control characters, or spaces at its ends (which
    servers strip from header values) could be set but never matched.
    """
    where = f"give --admin-token or {ENV_PREFIX}ADMIN_TOKEN"
    if not token.strip():
        raise ValueError(f"the admin token is empty: {where} a value, or leave it unset")
    if not (token.isascii() and token.isprintable()) or token != token.strip():
        raise ValueError(
            "the admin token must be printable ASCII (letters, digits, punctuation; spaces inside only), "
            f"as HTTP headers carry it: {where} another value"
        )


def env_value(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """``OMNITRON_MOCK_<name>``, or None when unset or empty."""
    value = (os.environ if environ is None else environ).get(ENV_PREFIX + name)
    return value or None


def env_users(environ: Mapping[str, str] | None = None) -> list[UserSpec]:
    """Users from ``OMNITRON_MOCK_USERS``: comma-separated ``NAME:PASSWORD[:TOKEN]``."""
    raw = env_value("USERS", environ)
    return [UserSpec.parse(part.strip()) for part in raw.split(",") if part.strip()] if raw else []


def parse_bool(text: str, what: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{what}: expected a boolean (1/0, true/false), got {text!r}")


def parse_whole_number(text: str, what: str) -> int:
    """A number of 0 or more."""
    return _parse_at_least(text, what, 0, "0 or more")


def parse_positive_int(text: str, what: str) -> int:
    return _parse_at_least(text, what, 1, "at least 1")


def _parse_at_least(text: str, what: str, least: int, wording: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{what}: expected a whole number, got {text!r}") from None
    if value < least:
        raise ValueError(f"{what}: must be {wording}, got {value}")
    return value


def parse_list(text: str) -> tuple[str, ...]:
    return tuple(part for part in (p.strip() for p in text.replace(",", " ").split()) if part)


def parse_statuses(text: str) -> dict[str, str]:
    """``"700:lost,710:found"`` -> ``{"700": "lost", "710": "found"}``."""
    statuses = {}
    for entry in parse_list(text):
        code, sep, name = entry.partition(":")
        if not sep or not code or not name:
            raise ValueError(f"extra status: expected CODE:NAME, got {entry!r}")
        statuses[code] = name
    return statuses
