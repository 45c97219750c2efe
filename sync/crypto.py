"""Field encryption at rest for the journal: AES-256-GCM with a per-terminal key file (mode 0600).

Each sealed value is  version(1) || nonce(12) || ciphertext+tag, with associated data binding it to its row
(the client id), so a ciphertext copied into another row does not decrypt. Person keys used for ordering are
stored as keyed hashes (HMAC-SHA256 under a key derived from the same file), never in clear."""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import stat
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

log = logging.getLogger(__name__)

_VERSION = b"\x01"
KEY_BYTES = 32


class KeyFileError(Exception):
    """The key file is missing, unreadable, has the wrong size or is readable by others."""
    code = "JOURNAL_KEY_INVALID"
    message_zh = "本机数据密钥文件异常，请联系技术人员。"


class DecryptError(Exception):
    code = "JOURNAL_DECRYPT_FAILED"
    message_zh = "本机数据无法解密，请联系技术人员。"


def load_or_create_key(path: Path) -> bytes:
    """Read the 32-byte key; create it (0600, O_EXCL, fsynced) if it does not exist yet."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        try:
            os.write(fd, secrets.token_bytes(KEY_BYTES))
            os.fsync(fd)
        finally:
            os.close(fd)
        _fsync_dir(path.parent)
        log.info("created journal key file %s (mode 0600)", path)
    try:
        st = path.stat()
        data = path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"cannot read key file {path}: {exc.strerror}") from None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(f"key file {path} is accessible by group/others (mode {oct(st.st_mode & 0o777)}); "
                           f"chmod 600 it")
    if len(data) != KEY_BYTES:
        raise KeyFileError(f"key file {path} has {len(data)} bytes, expected {KEY_BYTES}")
    return data


def _fsync_dir(d: Path) -> None:
    try:
        fd = os.open(d, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FieldCipher:
    """Seals/opens JSON-able values; tags person keys. One instance per open journal."""

    def __init__(self, key: bytes):
        if len(key) != KEY_BYTES:
            raise KeyFileError("journal key must be 32 bytes")
        self._aead = AESGCM(hashlib.sha256(b"hpf-journal-aead\x00" + key).digest())
        self._tag_key = hashlib.sha256(b"hpf-journal-person-tag\x00" + key).digest()

    @classmethod
    def from_key_file(cls, path: Path) -> "FieldCipher":
        return cls(load_or_create_key(path))

    def seal(self, value: Any, aad: str) -> bytes:
        plain = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")
        return self.seal_bytes(plain, aad)

    def open(self, blob: bytes | None, aad: str) -> Any:
        if blob is None:
            return None
        return json.loads(self.open_bytes(blob, aad))

    def seal_bytes(self, data: bytes, aad: str) -> bytes:
        nonce = secrets.token_bytes(12)
        return _VERSION + nonce + self._aead.encrypt(nonce, bytes(data), aad.encode("utf-8"))

    def open_bytes(self, blob: bytes, aad: str) -> bytes:
        blob = bytes(blob)
        if blob[:1] != _VERSION or len(blob) < 1 + 12 + 16:
            raise DecryptError(f"sealed value for {aad} has an unknown format")
        try:
            return self._aead.decrypt(blob[1:13], blob[13:], aad.encode("utf-8"))
        except InvalidTag:
            raise DecryptError(f"sealed value for {aad} does not authenticate (wrong key or tampered)") from None

    def person_tag(self, person_key: str | None) -> str | None:
        """A stable pseudonym for ordering one person's transactions; not reversible without the key."""
        if not person_key:
            return None
        return hmac.new(self._tag_key, person_key.strip().upper().encode("utf-8"), hashlib.sha256).hexdigest()[:32]
