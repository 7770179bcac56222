"""The encrypted credential vault.

File format (JSON, mode 0600, written atomically)::

    {"version": 1,
     "manifest": {"nonce": "...", "ciphertext": "..."},
     "secrets": {"<name>": {"nonce": "...", "ciphertext": "..."}, ...}}

Every value is AES-256-GCM encrypted under the master key with a fresh 96-bit nonce; the
secret's name is bound as associated data (a ciphertext moved to another name does not decrypt).
The manifest is the encrypted, sorted list of names: removing or adding an entry is detected,
and a wrong key is detected even in a vault holding a single secret. Names are visible, values
never are.

The master key (32 random bytes) comes from, in this order:

1. the OS keyring (``keyring``; service ``wcbc``, user name = the absolute vault path), when a
   usable backend exists;
2. ``$WCBC_MASTER_KEY`` (urlsafe base64 of 32 bytes; see :func:`generate_master_key`);
3. a key file (default: the vault path with suffix ``.key``, mode 0600).

A new key is created on the first :meth:`Vault.set`, in the keyring when usable, else in the key
file. :attr:`Vault.key_source` says which source is (or will be) used: "keyring", "env" or "file".
A key file readable by other users is refused.

Environment variables (:data:`ENV_VARS`) win over values stored in the vault.

Parts: :mod:`.names` (secrets and their variables), :mod:`.keys` (the master key's sources),
:mod:`.document` (the file format), :mod:`.base` (opening, reading, writing), :mod:`.rotation`
(saving and rotating the key), :mod:`.vault` (the public API).
"""

from wcbc.core.vault.document import VERSION
from wcbc.core.vault.keys import KEYRING_SERVICE, MASTER_KEY_ENV, generate_master_key
from wcbc.core.vault.names import ENV_VARS, SECRET_NAMES, env_var_for, generate_client_state
from wcbc.core.vault.vault import Vault

__all__ = ["ENV_VARS", "KEYRING_SERVICE", "MASTER_KEY_ENV", "SECRET_NAMES", "VERSION", "Vault", "env_var_for",
           "generate_client_state", "generate_master_key"]
