"""Tenant mode: each user's credentials name a world of its own.

With ``--tenant-per-user`` every user (or every named tenant of the startup
seed, which users may share) gets its own orders, items, mappings, journal,
faults and strict mode, started from the startup seed the first time a
request names it. Requests that name no tenant (no token, an unknown one, a
login for nobody) are served by the root world, which only the admin sees.

Who a request belongs to is decided before anything else reads the store:
the ``Authorization: Token`` header's user, or for a login the user whose
username and password its body holds. The directory from tokens and users to
tenants is the startup seed's (and ``--user``'s; seeds may not add any in
tenant mode), written into the root world and each tenant's at start, so
every replica started from the same seed routes alike. Each tenant's world
holds its own users alone: a tenant's state shows no other tenant's tokens.
"""

from __future__ import annotations

import hmac
import math
import threading
import time
from collections.abc import Callable
from dataclasses import replace

from omnitron_mock.config import Settings
from omnitron_mock.service import Emulator
from omnitron_mock.store.base import Row, SeedData, journal_time, token_digest
from omnitron_mock.store.tenant_space import TenantEntry, TenantSpace

# Each process notes a tenant as seen at most this often (a write to the register):
# the register lags by no more than this, well inside any idle limit.
_NOTE_FRACTION = 10
_MAX_NOTE_SECONDS = 60.0


def check_startup_seed(startup: SeedData, settings: Settings) -> None:
    """Refuse a startup seed every tenant would start over its order quota,
    before anything is written."""
    startup_orders = len({order.pk for order in startup.orders})
    if startup_orders > settings.tenant_max_orders:
        raise ValueError(
            f"the startup seed has {startup_orders} orders, more than a tenant may hold "
            f"(--tenant-max-orders {settings.tenant_max_orders}): raise the quota or seed fewer orders"
        )


def tenant_of(user: Row) -> str:
    """The tenant a user's requests belong to: its seed's ``tenant``, else its username."""
    return user.get("tenant") or user["username"]


class Tenants:
    """The worlds of a tenant-per-user emulator, by tenant name."""

    def __init__(
        self,
        root: Emulator,
        space: TenantSpace,
        startup: SeedData,
        clock: Callable[[], float] = time.time,
        *,
        startup_writes: bool = True,
    ) -> None:
        """``root`` serves requests that name no tenant; ``startup`` is the
        seed every new tenant starts from, and its users say who belongs where
        (their tokens are the same in every replica that starts from it).
        ``startup_writes``: put the root world back to the startup seed (see
        :func:`omnitron_mock.app.create_app`)."""
        self.root = root
        self._space = space
        users = startup.users
        if startup_writes:
            # The root world is nobody's: its orders and users are the startup seed's at every
            # start, so a user the seed no longer names finds nothing there either.
            root.store.load(startup, replace=True)
        self._startup = startup
        self._users = {user["username"]: user for user in users}
        # An inactive user's token reaches no tenant (its API calls get DRF's 401 in the root world).
        self._by_token = {token_digest(user["token"]): tenant_of(user) for user in users if user["is_active"]}
        self._by_username = {user["username"]: tenant_of(user) for user in users}
        self._clock = clock
        self._lock = threading.Lock()
        self._worlds: dict[str, Emulator] = {}
        self._noted: dict[str, float] = {}
        idle = root.settings.tenant_idle_seconds
        self._note_every = min(idle / _NOTE_FRACTION, _MAX_NOTE_SECONDS) if idle else _MAX_NOTE_SECONDS
        self._next_sweep = -math.inf

    # -- who a request belongs to ----------------------------------------------------

    def of_token(self, token: str) -> str | None:
        return self._by_token.get(token_digest(token))

    def of_login(self, username: str, password: str) -> str | None:
        """The tenant of the active user these credentials log in, else None:
        a login that would fail names no tenant (a stranger cannot reach one)."""
        user = self._users.get(username)
        if user is None or not user["is_active"]:
            return None
        given, stored = password.encode("utf-8", "surrogatepass"), user["password"].encode("utf-8", "surrogatepass")
        return tenant_of(user) if hmac.compare_digest(given, stored) else None

    def names(self) -> list[str]:
        """Every tenant the startup users name, by name."""
        return sorted(set(self._by_username.values()))

    def users_of(self, name: str) -> list[str]:
        return sorted(username for username, tenant in self._by_username.items() if tenant == name)

    # -- worlds ----------------------------------------------------------------------

    def world(self, name: str) -> Emulator:
        """The tenant's world, noted as seen now; made from the startup seed
        the first time. Idle tenants expire on the way (at most every tenth
        of the idle limit, per process)."""
        now = self._clock()
        idle = self.root.settings.tenant_idle_seconds
        if idle and now >= self._next_sweep:
            self._next_sweep = now + self._note_every
            self.expire_idle(now)
        world = self._world(name)
        if now - self._noted.get(name, -math.inf) >= self._note_every:
            self._space.seen(name, now)
            self._noted[name] = now
        return world

    def _world(self, name: str) -> Emulator:
        found = self._worlds.get(name)
        if found is not None:
            return found
        with self._lock:
            found = self._worlds.get(name)
            if found is None:
                root = self.root
                store = self._space.open(name)
                own_users = [user for user in self._users.values() if tenant_of(user) == name]
                # Keeps the world another replica (or an earlier start) made: only an
                # empty store takes the seed. Its users follow this start's seed all the same.
                store.initialize(replace(self._startup, users=own_users))
                store.replace_users(own_users)
                found = Emulator(
                    settings=root.settings,
                    contracts=root.contracts,
                    rules=root.rules,
                    store=store,
                    tenant=name,
                    order_quota=root.settings.tenant_max_orders,
                    journal_quota=root.settings.tenant_max_journal,
                    users_fixed=True,
                )
                self._worlds[name] = found
            return found

    def entries(self) -> list[TenantEntry]:
        """Every tenant that had a world, with when it was last seen and whether it expired since."""
        return self._space.entries()

    def reset_all(self) -> list[str]:
        """Every world back to the startup seed: the root's and each tenant's; the tenants'."""
        self.root.reset()
        names = [entry.name for entry in self._space.entries()]
        for name in names:
            self._world(name).reset()
        return names

    def expire(self, name: str) -> None:
        """Send the tenant's world back to the startup seed now, as idle expiry does."""
        self._world(name).reset()
        self._space.mark_expired(name)
        self._noted.pop(name, None)

    def expire_idle(self, now: float | None = None) -> list[str]:
        """Expire every tenant unseen for the idle limit; their names.

        The register says which tenants look idle; each one's reset then
        happens only if its journal holds no request from the limit on, in
        the same transaction (a replica may have served it meanwhile)."""
        idle = self.root.settings.tenant_idle_seconds
        if not idle:
            return []
        now = self._clock() if now is None else now
        cutoff = now - idle
        expired = []
        for entry in self._space.entries():
            if entry.last_seen >= cutoff:
                continue
            world = self._world(entry.name)
            # Expired and unused since (a reset empties the journal): nothing to do. Used
            # since, through a replica that has not noted it yet: idle again now, reset again.
            if entry.expired and not world.store.journal_count():
                continue
            if world.reset_if_unused_since(journal_time(cutoff)):
                self._space.mark_expired(entry.name, unseen_since=cutoff)
                self._noted.pop(entry.name, None)
                expired.append(entry.name)
        return expired
