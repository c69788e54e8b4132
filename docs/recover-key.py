#!/usr/bin/env python3
"""Recover one private key from a keysafe store without keysafe (docs/FORMAT.md).

usage: recover-key.py STORE NAME > key.der   (passphrase from $KEYSAFE_PASSPHRASE or a prompt)
"""
import getpass
import hashlib
import os
import sqlite3
import struct
import sys

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def field(b: bytes) -> bytes:
    return struct.pack(">I", len(b)) + b


def aes_gcm_open(key: bytes, sealed: bytes, aad: bytes) -> bytes:
    nonce, body = sealed[:12], sealed[12:]  # body = ciphertext || 16-byte tag
    return AESGCM(key).decrypt(nonce, body, aad)


def main() -> int:
    store, name = sys.argv[1], sys.argv[2]
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    (store_id, kdf, log2_n, r, p, salt, wrapped, checksum, created) = db.execute(
        "SELECT store_id, kdf, kdf_log2_n, kdf_r, kdf_p, kdf_salt, wrapped_data_key, checksum,"
        " created_at FROM store_header WHERE id = 1").fetchone()
    expected = hashlib.sha256(
        field(b"keysafe-header-v1") + field(store_id) + field(kdf.encode()) +
        struct.pack(">III", log2_n, r, p) + field(salt) + field(wrapped) +
        struct.pack(">Q", created)).digest()
    if expected != checksum:
        sys.exit("the store header is damaged (checksum mismatch)")
    row = db.execute("SELECT id, spki_sha256, sealed_private_key FROM keys WHERE name = ?",
                     (name,)).fetchone()
    if row is None or row[2] is None:
        sys.exit(f"no private key stored under the name {name!r}")
    key_id, spki_hex, sealed = row
    passphrase = os.environb.get(b"KEYSAFE_PASSPHRASE") or getpass.getpass("passphrase: ").encode()
    kek = hashlib.scrypt(passphrase, salt=salt, n=2 ** log2_n, r=r, p=p, dklen=32,
                         maxmem=128 * r * (2 ** log2_n) * p + (64 << 20))
    plain_aad = field(b"keysafe-data-key-v1") + field(store_id)
    try:  # a store with integrity MACs (schema v9) marks the wrapping's associated data
        data_key = aes_gcm_open(kek, wrapped, plain_aad + field(b"integrity-v1"))
    except InvalidTag:  # a store not unlocked since before v9
        data_key = aes_gcm_open(kek, wrapped, plain_aad)
    aad = (field(b"keysafe-private-key-v1") + field(store_id) + struct.pack(">Q", key_id) +
           field(spki_hex.encode()))
    sys.stdout.buffer.write(aes_gcm_open(data_key, sealed, aad))  # PKCS#8 DER
    return 0


if __name__ == "__main__":
    sys.exit(main())
