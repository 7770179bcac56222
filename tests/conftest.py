"""Fixtures shared by every test directory."""

import keyring
from keyring.backends import fail

from tests.e2e.conftest import e2e  # noqa: F401 - the sandbox-backed environment, for CLI tests too

# Tests never touch the OS keyring. Without this, keyring picks its default lazily, on first use, from
# every KeyringBackend subclass defined so far: the fake backends of tests/core/test_vault.py would then
# become the default for every later test in the same process.
keyring.set_keyring(fail.Keyring())
