"""wcbc.core.vault: encrypted secrets, key sources, rotation; wcbc.core.redact: masking secrets."""

from __future__ import annotations

import base64
import json
import logging
import stat
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail

from wcbc.core.errors import VaultError
from wcbc.core.redact import Redactor
from wcbc.core.vault import (
    ENV_VARS,
    MASTER_KEY_ENV,
    SECRET_NAMES,
    Vault,
    generate_client_state,
    generate_master_key,
)

SECRETS = {
    "woo_consumer_key": "ck_0123456789abcdef0123456789abcdef01234567",
    "woo_consumer_secret": "cs_fedcba9876543210fedcba9876543210fedcba98",
    "woo_webhook_secret": "whsec-Tr0ub4dor&3-correct horse",
    "bc_client_secret": "Q~8Q~abcDEF.ghi_JKL-mno~pqrSTUvwxYZ12",
    "bc_client_state": "state-uniq-9f8e7d6c5b4a",
}


class MemoryKeyring(KeyringBackend):
    """An in-process keyring backend."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.store.pop((service, username), None)


class BrokenKeyring(MemoryKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.PasswordSetError("nope")


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No real keyring, no inherited WCBC_* secrets."""
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    for var in (*ENV_VARS.values(), MASTER_KEY_ENV):
        monkeypatch.delenv(var, raising=False)
    yield
    keyring.set_keyring(previous)


@pytest.fixture
def memory_keyring() -> MemoryKeyring:
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    return backend


def fill(vault: Vault) -> None:
    for name, value in SECRETS.items():
        vault.set(name, value)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --------------------------------------------------------------------------- basics


def test_names_and_env_vars() -> None:
    assert set(ENV_VARS) == set(SECRET_NAMES)
    assert all(v.startswith("WCBC_") for v in ENV_VARS.values())


def test_key_file_source_round_trip_and_no_plaintext(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "vault.bin"
    vault = Vault.open(path)
    assert vault.key_source == "file"
    assert not path.exists()  # opening creates nothing
    assert vault.status() == dict.fromkeys(SECRET_NAMES, "missing")
    fill(vault)
    raw = path.read_bytes()
    for value in SECRETS.values():
        assert value.encode() not in raw
        assert base64.b64encode(value.encode()) not in raw
    assert mode(path) == 0o600
    assert mode(path.with_suffix(".key")) == 0o600
    assert mode(path.parent) == 0o700
    again = Vault.open(path)
    assert again.key_source == "file"
    assert {n: again.get(n) for n in SECRET_NAMES} == SECRETS
    assert again.status() == dict.fromkeys(SECRET_NAMES, "vault")
    assert sorted(again.secrets()) == sorted(SECRETS.values())
    doc = json.loads(raw)
    assert doc["version"] == 1 and set(doc["secrets"]) == set(SECRETS)
    # no temp files left behind
    assert sorted(p.name for p in path.parent.iterdir()) == ["vault.bin", "vault.bin.lock", "vault.key"]


def test_require_names_the_secret_never_a_value(tmp_path: Path) -> None:
    vault = Vault.open(tmp_path / "vault.bin")
    vault.set("woo_consumer_key", SECRETS["woo_consumer_key"])
    with pytest.raises(VaultError) as info:
        vault.require("bc_client_secret")
    assert "bc_client_secret" in str(info.value)
    assert "WCBC_BC_CLIENT_SECRET" in (info.value.hint or "")
    assert info.value.exit_code == 2
    assert vault.require("woo_consumer_key") == SECRETS["woo_consumer_key"]


def test_bad_names_and_values(tmp_path: Path) -> None:
    vault = Vault.open(tmp_path / "vault.bin")
    with pytest.raises(VaultError):
        vault.set("Bad Name", "value")
    with pytest.raises(VaultError):
        vault.set("woo_consumer_key", "")
    with pytest.raises(VaultError):
        vault.get("../etc")


def test_env_wins_over_vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    vault = Vault.open(tmp_path / "vault.bin")
    fill(vault)
    monkeypatch.setenv("WCBC_BC_CLIENT_SECRET", "from-the-environment")
    assert vault.get("bc_client_secret") == "from-the-environment"
    assert vault.status()["bc_client_secret"] == "env"
    assert vault.status()["woo_consumer_key"] == "vault"
    assert "from-the-environment" in vault.secrets()
    assert SECRETS["bc_client_secret"] in vault.secrets()  # still known, still redacted


def test_env_only_without_vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WCBC_WOO_WEBHOOK_SECRET", "env-webhook-secret")
    vault = Vault.open(tmp_path / "vault.bin")
    assert vault.require("woo_webhook_secret") == "env-webhook-secret"
    assert not (tmp_path / "vault.bin").exists()


def test_delete(tmp_path: Path) -> None:
    vault = Vault.open(tmp_path / "vault.bin")
    fill(vault)
    assert vault.delete("bc_client_state") is True
    assert vault.delete("bc_client_state") is False
    assert Vault.open(tmp_path / "vault.bin").get("bc_client_state") is None


def test_extra_names_are_listed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    vault = Vault.open(tmp_path / "vault.bin")
    vault.set("smtp_password", "mail-pass-123")
    assert vault.status()["smtp_password"] == "vault"
    monkeypatch.setenv("WCBC_SMTP_PASSWORD", "from-env-456")
    assert vault.get("smtp_password") == "from-env-456"


def test_generators() -> None:
    a, b = generate_client_state(), generate_client_state()
    assert a != b and len(a) >= 40
    key = base64.urlsafe_b64decode(generate_master_key())
    assert len(key) == 32


# --------------------------------------------------------------------------- wrong key / tamper


def test_wrong_key_fails_clearly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "vault.bin"
    monkeypatch.setenv(MASTER_KEY_ENV, generate_master_key())
    fill(Vault.open(path))
    wrong = generate_master_key()
    monkeypatch.setenv(MASTER_KEY_ENV, wrong)
    with pytest.raises(VaultError) as info:
        Vault.open(path)
    message = str(info.value)
    assert message == (f"the vault at {path} cannot be decrypted with the key from ${MASTER_KEY_ENV}: "
                       "wrong key or tampered file")
    assert wrong not in message


def test_malformed_env_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MASTER_KEY_ENV, "hunter2")
    with pytest.raises(VaultError) as info:
        Vault.open(tmp_path / "vault.bin")
    assert "hunter2" not in str(info.value)
    assert "32 bytes" in str(info.value)


@pytest.mark.parametrize("attack", ["flip", "swap", "drop", "manifest"])
def test_tampering_is_detected(tmp_path: Path, attack: str) -> None:
    path = tmp_path / "vault.bin"
    fill(Vault.open(path))
    doc = json.loads(path.read_text())
    entries = doc["secrets"]
    if attack == "flip":
        ct = bytearray(base64.b64decode(entries["bc_client_secret"]["ciphertext"]))
        ct[0] ^= 1
        entries["bc_client_secret"]["ciphertext"] = base64.b64encode(bytes(ct)).decode()
    elif attack == "swap":  # a ciphertext moved to another name: the name is associated data
        entries["woo_consumer_key"], entries["woo_consumer_secret"] = (
            entries["woo_consumer_secret"], entries["woo_consumer_key"])
    elif attack == "drop":
        del entries["bc_client_state"]
    else:
        del doc["manifest"]
    path.write_text(json.dumps(doc))
    with pytest.raises(VaultError, match="wrong key or tampered file"):
        Vault.open(path)


def test_damaged_file(tmp_path: Path) -> None:
    path = tmp_path / "vault.bin"
    fill(Vault.open(path))
    path.write_bytes(b"\x00garbage")
    with pytest.raises(VaultError, match="damaged"):
        Vault.open(path)


def test_vault_without_any_key_is_refused_and_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "vault.bin"
    fill(Vault.open(path))
    before = path.read_bytes()
    path.with_suffix(".key").unlink()
    with pytest.raises(VaultError, match="no master key"):
        Vault.open(path)
    assert path.read_bytes() == before


# --------------------------------------------------------------------------- key sources


def test_keyring_source(tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    path = tmp_path / "vault.bin"
    vault = Vault.open(path)
    assert vault.key_source == "keyring"
    fill(vault)
    assert ("wcbc", str(path)) in memory_keyring.store
    assert not path.with_suffix(".key").exists()
    assert Vault.open(path).get("woo_consumer_secret") == SECRETS["woo_consumer_secret"]


def test_keyring_unavailable_uses_env_then_key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the fail backend is installed by the autouse fixture
    monkeypatch.setenv(MASTER_KEY_ENV, generate_master_key())
    env_vault = Vault.open(tmp_path / "a" / "vault.bin")
    assert env_vault.key_source == "env"
    fill(env_vault)
    assert not (tmp_path / "a" / "vault.key").exists()
    monkeypatch.delenv(MASTER_KEY_ENV)
    file_vault = Vault.open(tmp_path / "b" / "vault.bin")
    assert file_vault.key_source == "file"
    fill(file_vault)
    assert (tmp_path / "b" / "vault.key").exists()


@pytest.mark.parametrize("bad_mode", [0o644, 0o640, 0o604, 0o620])
def test_key_file_open_to_others_is_refused(tmp_path: Path, bad_mode: int) -> None:
    from wcbc.core.errors import ExitCode, VaultError

    path = tmp_path / "conf" / "vault.bin"
    fill(Vault.open(path))
    key_file = path.with_suffix(".key")
    key_file.chmod(bad_mode)
    with pytest.raises(VaultError) as info:
        Vault.open(path)
    assert str(key_file) in str(info.value) and f"mode {bad_mode:o}" in str(info.value)
    assert info.value.hint and f"chmod 600 {key_file}" in info.value.hint
    assert info.value.exit_code == ExitCode.CONFIG == 2
    key_file.chmod(0o600)  # the fix the message names works
    assert Vault.open(path).get("woo_consumer_key") == SECRETS["woo_consumer_key"]
    key_file.chmod(0o400)  # read-only for the owner is fine too
    assert Vault.open(path).get("woo_consumer_key") == SECRETS["woo_consumer_key"]


def test_broken_keyring_falls_back_to_key_file(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    keyring.set_keyring(BrokenKeyring())
    vault = Vault.open(tmp_path / "vault.bin")
    with caplog.at_level(logging.WARNING, logger="wcbc.vault"):
        vault.set("woo_consumer_key", SECRETS["woo_consumer_key"])
    assert vault.key_source == "file"
    assert (tmp_path / "vault.key").exists()
    assert Vault.open(tmp_path / "vault.bin").get("woo_consumer_key") == SECRETS["woo_consumer_key"]
    assert SECRETS["woo_consumer_key"] not in caplog.text


def test_custom_key_file(tmp_path: Path) -> None:
    key_file = tmp_path / "keys" / "master.key"
    vault = Vault.open(tmp_path / "vault.bin", key_file=key_file)
    fill(vault)
    assert key_file.exists() and mode(key_file) == 0o600
    reopened = Vault.open(tmp_path / "vault.bin", key_file=key_file)
    assert reopened.get("bc_client_state") == SECRETS["bc_client_state"]


# --------------------------------------------------------------------------- rotation


def test_rotate_key_file(tmp_path: Path) -> None:
    path = tmp_path / "vault.bin"
    vault = Vault.open(path)
    fill(vault)
    old_key = path.with_suffix(".key").read_text()
    old_raw = path.read_bytes()
    vault.rotate_key()
    assert path.with_suffix(".key").read_text() != old_key
    assert path.read_bytes() != old_raw
    assert not (tmp_path / "vault.key#previous").exists()
    reopened = Vault.open(path)
    assert {n: reopened.get(n) for n in SECRET_NAMES} == SECRETS
    assert mode(path.with_suffix(".key")) == 0o600


def test_rotate_keyring(tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    path = tmp_path / "vault.bin"
    vault = Vault.open(path)
    fill(vault)
    old = memory_keyring.store[("wcbc", str(path))]
    vault.rotate_key()
    assert memory_keyring.store[("wcbc", str(path))] != old
    assert ("wcbc", str(path) + "#previous") not in memory_keyring.store
    assert Vault.open(path).get("bc_client_secret") == SECRETS["bc_client_secret"]


def test_rotate_refused_for_env_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = generate_master_key()
    monkeypatch.setenv(MASTER_KEY_ENV, key)
    vault = Vault.open(tmp_path / "vault.bin")
    fill(vault)
    with pytest.raises(VaultError) as info:
        vault.rotate_key()
    assert MASTER_KEY_ENV in str(info.value)
    assert key not in str(info.value) and key not in (info.value.hint or "")
    assert Vault.open(tmp_path / "vault.bin").get("woo_consumer_key") == SECRETS["woo_consumer_key"]


def test_rotate_without_vault(tmp_path: Path) -> None:
    with pytest.raises(VaultError, match="nothing to rotate"):
        Vault.open(tmp_path / "vault.bin").rotate_key()


def test_interrupted_rotation_is_completed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "vault.bin"
    vault = Vault.open(path)
    fill(vault)

    def crash(values: dict[str, str], key: bytes) -> None:
        raise KeyboardInterrupt  # the process dies after the new key was saved

    monkeypatch.setattr(vault, "_write", crash)
    with pytest.raises(KeyboardInterrupt):
        vault.rotate_key()
    assert (tmp_path / "vault.key#previous").exists()
    monkeypatch.undo()
    for var in (*ENV_VARS.values(), MASTER_KEY_ENV):
        monkeypatch.delenv(var, raising=False)
    recovered = Vault.open(path)
    assert recovered.get("bc_client_secret") == SECRETS["bc_client_secret"]
    assert not (tmp_path / "vault.key#previous").exists()
    assert Vault.open(path).get("woo_webhook_secret") == SECRETS["woo_webhook_secret"]


# --------------------------------------------------------------------------- redaction


def test_redactor_masks_known_secrets_and_forms() -> None:
    red = Redactor(SECRETS.values())
    secret = SECRETS["woo_webhook_secret"]
    text = f"secret={secret} json={json.dumps(secret)} url=https://x/?s=whsec-Tr0ub4dor%263-correct%20horse"
    out = red(text)
    assert secret not in out
    assert "Tr0ub4dor" not in out
    assert "***" in out


def test_redactor_ignores_short_values_and_empties() -> None:
    red = Redactor(["ab", "", None, "1"])
    assert red("a b 1 ab") == "a b 1 ab"
    assert len(red) == 0
    assert "ab" not in repr(Redactor(["abcdef"]))  # repr shows no secret


@pytest.mark.parametrize(
    ("text", "leak"),
    [
        ("Authorization: Basic Y2tfMTIzOmNzXzQ1Ng==", "Y2tfMTIzOmNzXzQ1Ng=="),
        ("headers={'Authorization': 'Bearer eyJ0eXAiOiJKV1QiLCJhbGciOi'}", "eyJ0eXAiOiJKV1Qi"),
        ("GET /wp-json/wc/v3/orders?consumer_key=ck_abc123xyz&consumer_secret=cs_def456uvw&page=2",
         "cs_def456uvw"),
        ("grant_type=client_credentials&client_secret=s3cr3t-value&scope=x", "s3cr3t-value"),
        ('{"token_type":"Bearer","access_token":"eyJhbGciOi.payload.sig","expires_in":3599}',
         "payload.sig"),
        ('{"clientState": "abc-def-ghi", "resource": "items"}', "abc-def-ghi"),
        ("key ck_0123456789abcdef0123456789abcdef01234567 used", "0123456789abcdef0123"),
        ('{"secret": "whs_123456"}', "whs_123456"),
    ],
)
def test_redactor_always_masks_credential_carriers(text: str, leak: str) -> None:
    out = Redactor()(text)
    assert leak not in out
    assert "***" in out


def test_redactor_keeps_ordinary_text() -> None:
    red = Redactor()
    for text in ("validationToken=abc123 echoed", "Basic setup done", "order 16 sent as SO-1001",
                 '{"expires_in": 3599, "token_type": "Bearer"}'):
        assert red(text) == text


def test_redactor_add_later() -> None:
    red = Redactor()
    assert red("pw=xyz-secret-1") == "pw=xyz-secret-1"
    red.add("xyz-secret-1")
    assert red("pw=xyz-secret-1") == "pw=***"
