"""Where POSIX file locking does not exist (Windows): the package, the memory
store, the plugin and in-process mode work; the SQLite store says it cannot.

``fcntl`` is made unimportable (``sys.modules["fcntl"] = None``) to stand in
for such a platform; tests/test_fresh_install.py does the same to a whole
pytest run of an installed wheel.
"""

from __future__ import annotations

import mmap
import sys
from pathlib import Path

import pytest
from omnitron_mock import Settings, create_app
from omnitron_mock.store.posix import POSIXOnlyError
from omnitron_mock.store.sqlite import SQLiteStore

from tests.helpers import printed_by, run_python

WITHOUT_FCNTL = "import sys\nsys.modules['fcntl'] = None\n"


@pytest.fixture
def no_fcntl(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "fcntl", None)


@pytest.mark.usefixtures("no_fcntl")
def test_the_sqlite_store_says_its_locking_is_posix_only(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with pytest.raises(POSIXOnlyError, match=r"multi-process SQLite locking is POSIX-only and needs fcntl\.flock"):
        SQLiteStore(path)
    assert list(tmp_path.iterdir()) == [], "nothing is created before the check"


@pytest.mark.usefixtures("no_fcntl")
def test_an_app_asked_for_a_database_says_so_too(tmp_path: Path) -> None:
    with pytest.raises(POSIXOnlyError, match="Leave the database unset to use the in-memory store"):
        create_app(Settings(db=str(tmp_path / "state.db")))


def test_the_sqlite_store_needs_a_shared_memory_map(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delattr(mmap, "MAP_SHARED")
    with pytest.raises(POSIXOnlyError, match=r"POSIX-only and needs mmap\.MAP_SHARED"):
        SQLiteStore(tmp_path / "state.db")


def test_serve_with_a_database_stops_with_the_message(tmp_path: Path) -> None:
    script = WITHOUT_FCNTL + (
        "from omnitron_mock.cli import main\n"
        f"sys.exit(main(['serve', '--db', {str(tmp_path / 'state.db')!r}, '--port', '0']))\n"
    )
    result = run_python(script)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("omnitron-mock: the SQLite store (--db, OMNITRON_MOCK_DB) is not available")
    assert "POSIX-only" in result.stderr
    assert "Traceback" not in result.stderr


def test_without_fcntl_the_package_the_memory_store_and_in_process_mode_work() -> None:
    script = WITHOUT_FCNTL + (
        "import omnitron_mock, omnitron_mock_pytest, omnitron_mock_pytest.plugin\n"
        "from omnitron_mock import DEV_PASSWORD, DEV_TOKEN, DEV_USERNAME, Settings, create_app\n"
        "from omnitron_mock.serving import HTTPServer\n"
        "from omnitron_mock_pytest import Credentials, InProcessEmulator\n"
        "client = create_app().test_client()\n"
        "login = client.post('/api/i1/auth/login/', json={'username': DEV_USERNAME, 'password': DEV_PASSWORD})\n"
        "assert login.status_code == 200, login.data\n"
        "emulator = InProcessEmulator.start(Settings(), Credentials(DEV_USERNAME, DEV_PASSWORD, DEV_TOKEN))\n"
        "transport = emulator.transport().start()\n"
        "import requests\n"
        "handle = emulator.handle()\n"
        "answer = requests.patch(handle.base_url + '/order_items/bulk_status_update/', headers=handle.headers,\n"
        "                        json={'orderitem_set': [{'id': 1, 'status': '450'}]}, timeout=10)\n"
        "assert answer.status_code == 200, answer.text\n"
        "handle.assert_item(1, status='450')\n"
        "transport.stop()\n"
        "emulator.stop()\n"
        "assert 'omnitron_mock.store.sqlite' not in sys.modules\n"
        "print('portable')\n"
    )
    assert printed_by(script) == "portable"
