"""Where the tokens live (issue 5, Connect): in the OS keyring when one is usable, else in the 0600 connection
file; `MIRROR_TOKEN_STORE=file` forces the file. The keyring here is an in-memory backend, set for the test
and restored after, so the flows run against the real mock payer and the real `keyring` API."""

import json
import stat

import keyring
import keyring.errors
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail

from mirror import cli, oauth, token_vault
from mirror.oauth import ConnectError, MockLogin, connect, connection_path, load_connection, refresh
from tests.mirror.conftest import DEMO_SECRET

MEMBER1 = MockLogin("member1", "pass-member1")

# keyring chooses its default among every KeyringBackend subclass defined when it first looks; let it look now,
# before the test backends below exist, or they would become the default keyring of every later test.
keyring.get_keyring()


class MemoryKeyring(KeyringBackend):
    """A keyring that keeps its entries in a dict, as an OS keyring would keep them outside the data folder."""

    priority = 1

    def __init__(self):
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}
        self.writes: list[str] = []

    def get_password(self, service, username):
        return self.entries.get((service, username))

    def set_password(self, service, username, password):
        self.writes.append(username)
        self.entries[(service, username)] = password

    def delete_password(self, service, username):
        self.entries.pop((service, username), None)


@pytest.fixture
def use_keyring(monkeypatch):
    """Make `backend` the active keyring for one test, and put the machine's own back after it."""
    monkeypatch.delenv(token_vault.STORE_VARIABLE, raising=False)
    before = keyring.get_keyring()

    def use(backend):
        keyring.set_keyring(backend)
        return backend

    yield use
    keyring.set_keyring(before)


@pytest.fixture
def memory_keyring(use_keyring):
    return use_keyring(MemoryKeyring())


def _quiet(line):
    pass


def _kept(backend, data_dir, name="demo") -> dict:
    return json.loads(backend.entries[(token_vault.SERVICE, token_vault.entry_name(data_dir, name))])


def test_connect_puts_the_tokens_in_the_keyring_and_not_in_the_file(memory_keyring, mock_payer, data_dir, capsys):
    status = cli.main(["--data-dir", str(data_dir), "connect", "demo", "--mock-url", mock_payer,
                       "--login", "member1:pass-member1"])
    assert status == 0
    kept = _kept(memory_keyring, data_dir)
    assert len(kept["access_token"]) >= 43 and len(kept["refresh_token"]) >= 43
    path = connection_path(data_dir, "demo")
    text = path.read_text()
    assert kept["access_token"] not in text and kept["refresh_token"] not in text
    record = json.loads(text)
    assert record["token_store"] == "keyring"
    assert record["token"]["patient"] == "demoplan-m1" and record["token"]["expires_at"]
    assert "scope" in record["token"] and "access_token" not in record["token"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_connection(data_dir, "demo").token.refresh_token == kept["refresh_token"]

    for command in (["connections", "--json"], ["status", "--json"]):
        capsys.readouterr()
        assert cli.main(["--data-dir", str(data_dir), *command]) == 0
        printed = capsys.readouterr()
        assert "demoplan-m1" in printed.out
        for secret in (kept["access_token"], kept["refresh_token"], DEMO_SECRET):
            assert secret not in printed.out + printed.err


def test_two_data_folders_keep_separate_entries(memory_keyring, demo_plan, tmp_path):
    first = connect(demo_plan(), tmp_path / "one", mock_login=MEMBER1, show=_quiet)
    second = connect(demo_plan(), tmp_path / "two", mock_login=MockLogin("member3", "pass-member3"), show=_quiet)
    assert load_connection(tmp_path / "one", "demo") == first
    assert load_connection(tmp_path / "two", "demo") == second
    assert len(memory_keyring.entries) == 2


def test_refresh_rotates_the_keyring_entry_before_returning(memory_keyring, demo_plan, data_dir, monkeypatch):
    """RT-4 with a keyring: the rotated refresh token is in the keyring before the file is rewritten, and both
    are when refresh returns."""
    first = connect(demo_plan(), data_dir, mock_login=MEMBER1, show=_quiet)
    kept_when_file_written = []
    write_file = oauth.write_atomically

    def write_after_looking(path, data):
        kept_when_file_written.append(_kept(memory_keyring, data_dir)["refresh_token"])
        write_file(path, data)

    monkeypatch.setattr(oauth, "write_atomically", write_after_looking)
    renewed = refresh(data_dir, "demo")
    assert kept_when_file_written == [renewed.token.refresh_token]
    assert renewed.token.refresh_token != first.token.refresh_token
    assert _kept(memory_keyring, data_dir) == {"access_token": renewed.token.access_token,
                                               "refresh_token": renewed.token.refresh_token}
    assert load_connection(data_dir, "demo") == renewed
    assert renewed.token.refresh_token not in connection_path(data_dir, "demo").read_text()


def test_reconnecting_replaces_the_keyring_entry(memory_keyring, demo_plan, data_dir):
    connect(demo_plan(), data_dir, mock_login=MEMBER1, show=_quiet)
    second = connect(demo_plan(), data_dir, mock_login=MockLogin("member3", "pass-member3"), show=_quiet)
    assert len(memory_keyring.entries) == 1
    assert _kept(memory_keyring, data_dir)["refresh_token"] == second.token.refresh_token
    assert load_connection(data_dir, "demo") == second


class LockedKeyring(MemoryKeyring):
    def set_password(self, service, username, password):
        raise keyring.errors.KeyringLocked("locked")


def test_a_keyring_that_refuses_the_write_leaves_the_earlier_connection(use_keyring, demo_plan, data_dir):
    locked = use_keyring(LockedKeyring())
    with pytest.raises(ConnectError, match="^demo: could not save the tokens to the OS keyring \\(KeyringLocked\\); "
                                           "nothing was saved$"):
        connect(demo_plan(), data_dir, mock_login=MEMBER1, show=_quiet)
    assert not connection_path(data_dir, "demo").exists() and not locked.entries


def test_a_missing_keyring_entry_is_one_clear_line(memory_keyring, demo_plan, data_dir):
    connect(demo_plan(), data_dir, mock_login=MEMBER1, show=_quiet)
    memory_keyring.entries.clear()
    with pytest.raises(ConnectError, match=r"^demo: its tokens are missing from the OS keyring; "
                                           r"run: mirror connect demo \.\.\.$"):
        load_connection(data_dir, "demo")


def test_the_fail_backend_falls_back_to_the_private_file(use_keyring, demo_plan, data_dir):
    use_keyring(fail.Keyring())
    connection = connect(demo_plan(), data_dir, mock_login=MEMBER1, show=_quiet)
    path = connection_path(data_dir, "demo")
    record = json.loads(path.read_text())
    assert record["token_store"] == "file"
    assert record["token"]["refresh_token"] == connection.token.refresh_token
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_connection(data_dir, "demo") == connection


def test_the_environment_can_force_the_file_and_the_keyring_entry_goes(memory_keyring, demo_plan, data_dir,
                                                                        monkeypatch):
    connect(demo_plan(), data_dir, mock_login=MEMBER1, show=_quiet)
    assert memory_keyring.entries
    monkeypatch.setenv(token_vault.STORE_VARIABLE, "file")
    connection = connect(demo_plan(), data_dir, mock_login=MEMBER1, show=_quiet)
    record = json.loads(connection_path(data_dir, "demo").read_text())
    assert record["token_store"] == "file"
    assert record["token"]["access_token"] == connection.token.access_token
    assert memory_keyring.entries == {}  # no stale copy left behind in the keyring
    assert load_connection(data_dir, "demo") == connection
