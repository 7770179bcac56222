"""Exit codes are one enum; every error class of the one tree maps to one of them; README says the same."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from wcbc.core import errors
from wcbc.core.errors import ExitCode

README = Path(__file__).resolve().parents[2] / "README.md"


def test_values_are_stable() -> None:
    assert [(c.name, int(c)) for c in ExitCode] == [
        ("OK", 0), ("RECORDS_FAILED", 1), ("CONFIG", 2), ("REMOTE", 3), ("INTERRUPTED", 130)]


@pytest.mark.parametrize(
    ("cls", "code"),
    [(errors.LockHeld, ExitCode.OK), (errors.RecordError, ExitCode.RECORDS_FAILED),
     (errors.ValidationError, ExitCode.RECORDS_FAILED), (errors.UsageError, ExitCode.CONFIG),
     (errors.ConfigError, ExitCode.CONFIG), (errors.VaultError, ExitCode.CONFIG),
     (errors.StateError, ExitCode.CONFIG), (errors.AuthError, ExitCode.REMOTE),
     (errors.UnreachableError, ExitCode.REMOTE), (errors.ThrottledError, ExitCode.REMOTE),
     (errors.AmbiguousWriteError, ExitCode.REMOTE)],
)
def test_each_error_has_its_exit_code(cls: type[errors.WcbcError], code: ExitCode) -> None:
    assert cls.exit_code is code


def test_every_error_is_in_the_tree_and_every_exit_code_is_the_enum() -> None:
    classes = [v for v in vars(errors).values() if isinstance(v, type) and issubclass(v, Exception)]
    assert all(issubclass(c, errors.WcbcError) for c in classes)
    assert all(isinstance(c.exit_code, ExitCode) for c in classes if issubclass(c, errors.WcbcError))
    assert issubclass(errors.AmbiguousWriteError, errors.UnreachableError)
    from wcbc.adapters import http

    assert http.AmbiguousWriteError is errors.AmbiguousWriteError  # the adapter raises the tree's class


def test_readme_exit_codes_table_matches_the_enum() -> None:
    section = README.read_text().split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    documented = [int(n) for n in re.findall(r"^\| (\d+) \|", section, flags=re.M)]
    assert documented == [c.value for c in ExitCode if c is not ExitCode.INTERRUPTED]
