"""The SQLite store's file: damage refused on open, caches of other workers
never left stale, space given back, the journal read a page at a time."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
import requests
from omnitron_mock import DEV_TOKEN, Settings, create_app
from omnitron_mock.seed import DEFAULT_SEED_DOCUMENT, build_seed
from omnitron_mock.serving import HTTPServer
from omnitron_mock.store import MemoryStore, SeedData, Store
from omnitron_mock.store.sqlite import DamagedDatabase, SQLiteStore

from tests.helpers import run_cli, sqlite_steps


def default_seed() -> SeedData:
    return build_seed(DEFAULT_SEED_DOCUMENT)


def new_user(name: str) -> SeedData:
    return build_seed({"users": [{"username": name, "password": "pw", "token": f"{name}-token"}]})


def journal_entry(number: int, body_bytes: int = 100) -> dict[str, Any]:
    """An entry as omnitron_mock.journal.record() stores it."""
    return {
        "time": "2026-01-01T00:00:00.000Z",
        "method": "PATCH",
        "path": "/api/i1/order_items/bulk_status_update/",
        "query": "",
        "headers": {"Content-Type": "application/json", "Authorization": "Token ***"},
        "body": f"{number:08d}" + "x" * body_bytes,
        "status": 200,
        "response": "[]",
        "duration_ms": 0.5,
        "request_contract": "bulk_request",
        "fault": None,
    }


def file_bytes(path: Path) -> int:
    """What the database occupies: the file and its write-ahead log."""
    wal = Path(f"{path}-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


# -- damaged files are refused ---------------------------------------------------------------


def healthy_copy(tmp_path: Path, name: str) -> Path:
    """A store file with some state, as one self-contained file (no -wal)."""
    store = SQLiteStore(tmp_path / "source.db")
    store.initialize(
        build_seed({"orders": [{"id": n, "items": [{"id": n * 10 + k} for k in range(5)]} for n in range(1, 300)]})
    )
    for number in range(100):
        store.append_request(journal_entry(number, 2000))
    copy = tmp_path / name
    with closing(sqlite3.connect(tmp_path / "source.db")) as connection:
        connection.execute("VACUUM INTO ?", (str(copy),))
    return copy


def overwrite_middle(path: Path) -> None:
    size = path.stat().st_size
    with path.open("r+b") as handle:
        handle.seek(size // 2)
        handle.write(b"\xa5" * 8192)


def truncate_half(path: Path) -> None:
    os.truncate(path, path.stat().st_size // 2)


def not_a_database(path: Path) -> None:
    path.write_text("order_id,status\n1,550\n" * 100)


DAMAGE = {"overwritten pages": overwrite_middle, "truncated": truncate_half, "not a database": not_a_database}


@pytest.mark.parametrize("damage", DAMAGE.values(), ids=DAMAGE.keys())
def test_a_damaged_file_is_refused_and_left_as_found(tmp_path: Path, damage: Callable[[Path], None]) -> None:
    path = healthy_copy(tmp_path, "damaged.db")
    damage(path)
    before = path.read_bytes()
    with pytest.raises(DamagedDatabase) as refused:
        SQLiteStore(path)
    message = str(refused.value)
    assert str(path) in message
    assert "damaged or is not a SQLite database" in message
    assert "move it away" in message and "start fresh" in message
    assert isinstance(refused.value, ValueError)
    assert path.read_bytes() == before


def test_a_healthy_file_and_a_new_one_open(tmp_path: Path) -> None:
    reopened = SQLiteStore(healthy_copy(tmp_path, "healthy.db"))
    assert len(reopened.requests()) == 100
    SQLiteStore(tmp_path / "new.db").initialize(default_seed())


@pytest.mark.parametrize("damage", [overwrite_middle, not_a_database], ids=["overwritten pages", "not a database"])
def test_serve_refuses_a_damaged_file_with_a_message(tmp_path: Path, damage: Callable[[Path], None]) -> None:
    path = healthy_copy(tmp_path, "damaged.db")
    damage(path)
    result = run_cli("serve", "--db", str(path), "--port", "0")
    assert result.returncode == 2, result.stderr
    assert f"omnitron-mock: {path} is damaged or is not a SQLite database" in result.stderr
    assert "start fresh" in result.stderr
    assert "Traceback" not in result.stderr


# -- the caches of other workers -------------------------------------------------------------


class _Interrupted:
    """A connection that runs ``at_commit`` once, just before or just after its next COMMIT."""

    def __init__(self, connection: sqlite3.Connection, at_commit: Callable[[], None], after: bool) -> None:
        self._connection = connection
        self._at_commit: Callable[[], None] | None = at_commit
        self._after = after

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        hook = self._at_commit if sql == "COMMIT" else None
        if hook is not None:
            self._at_commit = None
            if not self._after:
                hook()
        cursor = self._connection.execute(sql, *args)
        if hook is not None and self._after:
            hook()
        return cursor

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)


def interrupt_commits(store: SQLiteStore, at_commit: Callable[[], None], after: bool) -> None:
    interrupted = _Interrupted(store._connection(), at_commit, after)
    store._connection = lambda: interrupted  # type: ignore[method-assign]


def _kill_self() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _add_user_and_die(path: str, name: str, after_commit: bool) -> None:
    writer = SQLiteStore(path)
    interrupt_commits(writer, _kill_self, after=after_commit)
    writer.load(new_user(name), replace=False)


def run_and_kill(path: Path, name: str, after_commit: bool) -> None:
    # Forked, as the worker processes of gunicorn and of `serve --workers` are.
    child = multiprocessing.get_context("fork").Process(target=_add_user_and_die, args=(str(path), name, after_commit))
    child.start()
    child.join(timeout=60)
    assert child.exitcode == -signal.SIGKILL


@pytest.fixture
def shared(tmp_path: Path) -> Path:
    path = tmp_path / "shared.db"
    SQLiteStore(path).initialize(default_seed())
    return path


def test_a_worker_killed_right_after_its_commit_leaves_no_stale_cache(shared: Path) -> None:
    other = SQLiteStore(shared)
    assert other.user_by_token("late-token") is None  # cached
    run_and_kill(shared, "late", after_commit=True)
    assert SQLiteStore(shared).user_by_username("late") is not None, "the change committed"
    assert other.user_by_token("late-token")["username"] == "late"


def test_a_worker_killed_before_its_commit_changes_nothing_and_costs_no_later_change(shared: Path) -> None:
    other, writer = SQLiteStore(shared), SQLiteStore(shared)
    assert other.user_by_token("lost-token") is None
    run_and_kill(shared, "lost", after_commit=False)
    assert other.user_by_token("lost-token") is None
    assert other.user_by_token("lost-token") is None
    writer.update_faults(lambda faults: faults.append({"kind": "drop"}))
    assert other.faults() == [{"kind": "drop"}]
    writer.load(new_user("kept"), replace=False)
    assert other.user_by_token("kept-token")["username"] == "kept"
    assert other.user_by_token("lost-token") is None


def test_a_read_between_the_counter_and_the_commit_is_not_kept(shared: Path) -> None:
    writer, reader = SQLiteStore(shared), SQLiteStore(shared)
    assert reader.faults() == []
    seen_before_commit = []
    interrupt_commits(writer, lambda: seen_before_commit.append(reader.faults()), after=False)
    writer.update_faults(lambda faults: faults.append({"kind": "drop"}))
    assert seen_before_commit == [[]]
    assert reader.faults() == [{"kind": "drop"}]


def test_a_settings_change_that_fails_changes_nothing_anywhere(shared: Path) -> None:
    writer, reader = SQLiteStore(shared), SQLiteStore(shared)
    assert reader.faults() == []

    def fail_at_commit() -> None:
        raise RuntimeError("disk full")

    interrupt_commits(writer, fail_at_commit, after=False)
    with pytest.raises(RuntimeError):
        writer.update_faults(lambda faults: faults.append({"kind": "drop"}))
    with pytest.raises(ZeroDivisionError):
        reader.update_faults(lambda faults: (faults.append({"kind": "drop"}), 1 / 0))
    assert reader.faults() == writer.faults() == []
    SQLiteStore(shared).update_faults(lambda faults: faults.append({"kind": "slow"}))
    assert reader.faults() == writer.faults() == [{"kind": "slow"}]


def test_what_a_settings_write_reads_of_its_own_changes_is_not_kept(shared: Path) -> None:
    store = SQLiteStore(shared)
    assert store.faults() == []
    with pytest.raises(RuntimeError), store._write(changes_settings=True) as connection:
        connection.execute("""UPDATE meta SET value = '[{"kind":"drop"}]' WHERE key = 'faults'""")
        assert store.faults() == [{"kind": "drop"}]
        raise RuntimeError("abandon")
    assert store.faults() == []


def test_changes_reach_every_store_on_the_file(shared: Path) -> None:
    first, second = SQLiteStore(shared), SQLiteStore(shared)
    assert second.faults() == [] and second.user_by_token("new-token") is None
    first.update_faults(lambda faults: faults.append({"kind": "drop"}))
    first.load(new_user("new"), replace=False)
    assert second.faults() == [{"kind": "drop"}]
    assert second.user_by_token("new-token")["username"] == "new"
    second.reset()
    assert first.faults() == [] and first.user_by_token("new-token") is None


# -- space given back ------------------------------------------------------------------------


def fill_journal(store: SQLiteStore, entries: int = 500) -> int:
    for number in range(entries):
        store.append_request(journal_entry(number, 20 * 1024))
    return file_bytes(Path(store.path))


@pytest.mark.parametrize("empty", ["clear_requests", "reset"])
def test_emptying_the_journal_shrinks_the_file(tmp_path: Path, empty: str) -> None:
    path = tmp_path / "state.db"
    store = SQLiteStore(path)
    store.initialize(default_seed())
    filled = fill_journal(store)
    # Some 14 MB; emptied, the file is back to some 50 KB whatever it held.
    assert filled > 10 * 2**20
    getattr(store, empty)()
    assert store.requests() == []
    assert file_bytes(path) < filled / 10
    assert store.get_item(1) is not None


def test_a_file_from_before_incremental_vacuum_is_converted_once(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    store = SQLiteStore(path)
    store.initialize(default_seed())
    for number in range(500):
        store.append_request(journal_entry(number, 20 * 1024))
    with closing(sqlite3.connect(path, isolation_level=None)) as connection:
        connection.execute("PRAGMA auto_vacuum = NONE")
        connection.execute("VACUUM")
        assert connection.execute("PRAGMA auto_vacuum").fetchone() == (0,)
    reopened = SQLiteStore(path)
    with closing(sqlite3.connect(path)) as connection:
        assert connection.execute("PRAGMA auto_vacuum").fetchone() == (2,)
    assert len(reopened.requests()) == 500
    filled = file_bytes(path)
    reopened.clear_requests()
    assert file_bytes(path) < filled / 10


# -- the newest journal entries --------------------------------------------------------------


@pytest.fixture(params=["memory", "sqlite"])
def journal_store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    store: Store = MemoryStore(journal_limit=4) if request.param == "memory" else SQLiteStore(tmp_path / "j.db", 4)
    store.initialize(default_seed())
    return store


def numbers(entries: list[dict[str, Any]]) -> list[int]:
    return [int(entry["body"][:8]) for entry in entries]


def test_recent_requests_are_the_newest_first(journal_store: Store) -> None:
    assert journal_store.recent_requests(10) == []
    for number in range(7):
        journal_store.append_request(journal_entry(number))
    assert numbers(journal_store.recent_requests(10)) == [6, 5, 4, 3]
    assert journal_store.recent_requests(10) == journal_store.requests()[::-1]
    assert numbers(journal_store.recent_requests(2)) == [6, 5]
    assert journal_store.recent_requests(0) == []


def test_recent_requests_page_back_by_id(journal_store: Store) -> None:
    for number in range(7):
        journal_store.append_request(journal_entry(number))
    newest = journal_store.recent_requests(2)
    older = journal_store.recent_requests(2, before_id=newest[-1]["id"])
    assert numbers(older) == [4, 3]
    assert journal_store.recent_requests(2, before_id=older[-1]["id"]) == []
    assert numbers(journal_store.recent_requests(10, before_id=10**30)) == [6, 5, 4, 3]
    assert journal_store.recent_requests(10, before_id=-(10**30)) == []
    journal_store.clear_requests()
    assert journal_store.recent_requests(10) == []


def test_recent_requests_on_sqlite_read_no_more_than_they_return(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "j.db", journal_limit=50_000)
    costs = []
    for added in (1_000, 19_000):
        with store.transaction() as tx:
            for number in range(added):
                tx.append_request(journal_entry(number))
        costs.append(
            sqlite_steps(
                store._connection(), lambda: (store.recent_requests(10), store.recent_requests(10, before_id=500))
            )
        )
    small, large = costs
    assert large < small * 1.5
    assert sqlite_steps(store._connection(), store.requests) > 20 * large


# -- descriptors: one lock file per process, each connection closed with its thread ---------------

needs_proc = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reads descriptors from /proc (Linux)")


def descriptors_on(path: Path, suffix: str = "") -> int:
    """How many of this process's descriptors are open on ``path`` + ``suffix``
    (with ``suffix`` empty: on the database and its -wal, -shm and .lock files)."""
    count = 0
    for name in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/self/fd/{name}")
            if target == f"{path}{suffix}" or (not suffix and target.startswith(str(path))):
                count += 1
    return count


def in_threads(count: int, work: Callable[[int], object]) -> None:
    threads = [threading.Thread(target=work, args=(number,)) for number in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads)


@needs_proc
def test_threads_that_come_and_go_leave_no_descriptor_behind(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = SQLiteStore(path)
    store.initialize(default_seed())

    def write_and_read(number: int) -> None:
        store.append_request(journal_entry(number))
        store.requests()

    # As waitress's threads, lent to each request waiting out a delay: each
    # thread writes and reads, and ends.
    in_threads(20, write_and_read)
    before, locks_before = descriptors_on(path), descriptors_on(path, ".lock")
    for _ in range(3):
        in_threads(20, write_and_read)
    assert descriptors_on(path, ".lock") == locks_before
    # SQLite keeps the descriptor of a connection closed while another holds a
    # lock on the file, for the next connection to take: fewer than one round's.
    assert descriptors_on(path) - before < 20
    assert len(store.requests()) == 80


@needs_proc
def test_the_threads_of_a_process_share_one_lock_file_descriptor(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = SQLiteStore(path)
    store.initialize(default_seed())
    alone = descriptors_on(path, ".lock")
    written = threading.Barrier(11)

    def write_and_stay(number: int) -> None:
        store.append_request(journal_entry(number))
        written.wait(30)  # all ten alive, each after its write
        written.wait(30)  # until counted

    threads = [threading.Thread(target=write_and_stay, args=(number,)) for number in range(10)]
    for thread in threads:
        thread.start()
    written.wait(30)
    during = descriptors_on(path, ".lock")
    written.wait(30)
    for thread in threads:
        thread.join(30)
    assert during == alone


def _write_through_the_inherited_store(store: SQLiteStore) -> None:
    store.load(new_user("child"), replace=False)


def test_a_child_forked_while_a_thread_holds_the_write_lock_writes_once_it_is_free(tmp_path: Path) -> None:
    """The write lock's thread lock is held by another thread at the fork: the
    child, where that thread does not exist, must not wait for it forever, and
    must wait for the parent's file lock. (Held outside a transaction: SQLite's
    own locks cannot cross a fork.)"""
    path = tmp_path / "state.db"
    store = SQLiteStore(path)
    store.initialize(default_seed())
    writing, finish = threading.Event(), threading.Event()

    def hold_a_write() -> None:
        with store._write_lock.held():
            writing.set()
            finish.wait(30)

    holder = threading.Thread(target=hold_a_write)
    holder.start()
    assert writing.wait(30)
    child = multiprocessing.get_context("fork").Process(target=_write_through_the_inherited_store, args=(store,))
    child.start()
    try:
        finish.set()
        holder.join(30)
        child.join(60)
        assert child.exitcode == 0
    finally:
        if child.exitcode is None:
            child.kill()
            child.join()
    assert store.user_by_username("child") is not None
    # The parent's store still writes: the child closed only its own copies.
    store.load(new_user("parent"), replace=False)
    assert store.user_by_username("parent") is not None


@needs_proc
def test_requests_parked_in_delays_leave_no_descriptor_behind(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    app = create_app(Settings(db=str(path)))
    with HTTPServer(app, port=0, threads=2) as server, requests.Session() as session:
        url = f"{server.url}/api/i1/active_user/"
        auth = {"Authorization": f"Token {DEV_TOKEN}"}
        assert session.get(url, headers=auth, timeout=10).status_code == 200
        results: list[int] = []

        def delayed(_: int) -> None:
            # Waits in a thread the server lends it, which ends after the wait.
            response = requests.get(url, headers={**auth, "X-Mock-Fault": "latency=50"}, timeout=30)
            results.append(response.status_code)

        idle = threading.active_count()
        in_threads(8, delayed)
        # The lent threads end once their delays did.
        assert wait_for(lambda: threading.active_count() <= idle)
        before, locks_before = descriptors_on(path), descriptors_on(path, ".lock")
        for _ in range(3):
            in_threads(8, delayed)
            assert wait_for(lambda: threading.active_count() <= idle)
        assert results == [200] * 32
        journal = session.get(f"{server.url}/_mock/requests", params={"path": "active_user"}, timeout=10).json()
        assert len(journal["requests"]) == 33
        assert descriptors_on(path, ".lock") == locks_before
        # Fewer than one round's requests: see the test above.
        assert descriptors_on(path) - before < 8


def wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    """Poll ``condition``: threads a server lent end on their own, with no event to wait for."""
    deadline = time.monotonic() + seconds
    pause = threading.Event()
    while not condition():
        if time.monotonic() > deadline:
            return False
        pause.wait(0.05)
    return True
