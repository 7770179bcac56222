"""Fixtures shared by every test directory."""

from tests.e2e.conftest import e2e  # noqa: F401 - the sandbox-backed environment, for CLI tests too
