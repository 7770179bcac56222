"""Fixtures shared by every test directory."""

import logging
from collections.abc import Iterator

import keyring
import pytest
from keyring.backends import fail

from tests.e2e.conftest import e2e  # noqa: F401 - the sandbox-backed environment, for CLI tests too

# Tests never touch the OS keyring. Without this, keyring picks its default lazily, on first use, from
# every KeyringBackend subclass defined so far: the fake backends of tests/core/test_vault.py would then
# become the default for every later test in the same process.
keyring.set_keyring(fail.Keyring())


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    """A test that calls setup_logging (as the CLI does) leaves the loggers as it found them: their levels
    and handlers would otherwise leak into later tests (urllib3's DEBUG lines, with URL paths, reaching
    another test's caplog)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    libraries = {name: logging.getLogger(name).level for name in ("urllib3", "msal", "requests", "waitress")}
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    for name, was in libraries.items():  # setup_logging("debug") turns these up to DEBUG
        logging.getLogger(name).setLevel(was)
