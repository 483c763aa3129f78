"""Suite-wide settings: tests keep tokens in the data folder's private file, whatever keyring the machine has,
so they behave the same on a developer's desktop (with a keyring) as in CI (without one)."""

import pytest

from mirror.token_vault import STORE_VARIABLE


@pytest.fixture(autouse=True)
def tokens_in_the_private_file(monkeypatch):
    monkeypatch.setenv(STORE_VARIABLE, "file")
