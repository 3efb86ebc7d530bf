"""Who may use the control API and the inspector, and on which world.

Without tenants: anyone, or with an admin token configured, whoever carries
it (the ``X-Mock-Admin-Token`` header, or the cookie the inspector's login
sets). In tenant mode every call needs a token: a user's API token
(``Authorization: Token …``, or in the inspector's cookie) acts on that
user's tenant and no other; the admin token acts on the world of
``?tenant=NAME`` (the ``X-Mock-Tenant`` header), or without one on the root
world and, for a reset, on every world.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from flask import current_app, g, request

from omnitron_mock.auth import token_of
from omnitron_mock.errors import APIError
from omnitron_mock.service import Emulator
from omnitron_mock.tenants import Tenants

ADMIN_HEADER = "X-Mock-Admin-Token"
ADMIN_COOKIE = "omnitron_mock_admin"
TENANT_HEADER = "X-Mock-Tenant"
TENANT_PARAMETER = "tenant"
EXTENSION_KEY = "omnitron_mock"
TENANTS_KEY = "omnitron_mock_tenants"
_CALLER_KEY = "omnitron_mock_caller"


@dataclass(frozen=True)
class Caller:
    """Who a control call comes from and the world it acts on."""

    world: Emulator
    admin: bool

    @property
    def everything(self) -> bool:
        """Whether the call speaks for every world: the admin naming no tenant, in tenant mode."""
        return self.admin and self.world.tenant is None and tenants() is not None


def tenants() -> Tenants | None:
    """The app's tenants, or None when it does not run in tenant mode."""
    return current_app.extensions.get(TENANTS_KEY)


def caller() -> Caller:
    """This request's caller, once :func:`access_problem` let it in; the root world before."""
    found: Caller | None = g.get(_CALLER_KEY)
    return found if found is not None else Caller(current_app.extensions[EXTENSION_KEY], admin=False)


def access_problem() -> APIError | None:
    """Why this request may not use the control API or the inspector, or None
    when it may (its :func:`caller` is then set)."""
    root: Emulator = current_app.extensions[EXTENSION_KEY]
    expected = root.settings.admin_token
    given = request.headers.get(ADMIN_HEADER) or request.cookies.get(ADMIN_COOKIE)
    is_admin = given is not None and bool(expected) and _same(given, expected or "")
    found = tenants()
    if found is None:
        if expected and given is None:
            return APIError(401, {"detail": f"The control API needs the {ADMIN_HEADER} header."})
        if expected and not is_admin:
            return APIError(403, {"detail": "Invalid admin token."})
        g.setdefault(_CALLER_KEY, Caller(root, admin=True))
        return None
    named = request.args.get(TENANT_PARAMETER) or request.headers.get(TENANT_HEADER)
    header_token = token_of(request.headers.get("Authorization"))
    header_tenant = found.of_token(header_token) if header_token else None
    if header_token is not None and header_tenant is None:
        # Beside the admin token too: a mistyped user token must not fall back to the root world.
        return APIError(403, {"detail": "Invalid token: it is no user's API token."})
    if request.headers.get(ADMIN_HEADER) is not None and not is_admin:
        return APIError(403, {"detail": "Invalid admin token."})
    if is_admin:
        if named is None:
            # With a user's token beside it, the admin acts on that user's tenant
            # (a test kit that carries both); alone, on the root world.
            world = root if header_tenant is None else found.world(header_tenant)
            g.setdefault(_CALLER_KEY, Caller(world, admin=True))
            return None
        if named not in found.names():
            return APIError(404, {"detail": f"No tenant is named {named!r}: GET /_mock/tenants lists them."})
        g.setdefault(_CALLER_KEY, Caller(found.world(named), admin=True))
        return None
    cookie = request.cookies.get(ADMIN_COOKIE)
    own = header_tenant or (found.of_token(cookie) if cookie else None)
    if own is None:
        if cookie is not None:
            return APIError(403, {"detail": "Invalid token: it is no user's API token, nor the admin token."})
        return APIError(
            401,
            {
                "detail": "In tenant mode the control API needs a user's API token (Authorization: Token …), "
                f"which acts on that user's tenant, or the {ADMIN_HEADER} header."
            },
        )
    if named is not None and named != own:
        return APIError(
            403, {"detail": f"This token belongs to tenant {own!r}: only the admin token reaches another tenant."}
        )
    g.setdefault(_CALLER_KEY, Caller(found.world(own), admin=False))
    return None


def _same(given: str, expected: str) -> bool:
    # Settings admit printable ASCII tokens only (what a header carries byte for
    # byte); anything else a client sends, in a header or a cookie, is not it.
    return given.isascii() and hmac.compare_digest(given.encode("ascii"), expected.encode("ascii"))
