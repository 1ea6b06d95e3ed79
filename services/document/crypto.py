"""Envelope encryption of document content: AES-256-GCM data keys wrapped by a master key.

Each stored version gets its own random 256-bit data key. The content is encrypted in
segments (the STREAM construction), so uploads and downloads never hold a whole file in
memory and a tampered segment is detected before any of its plaintext is released:

* object = header || segment_0 || ... || segment_n, each segment = AES-GCM(ciphertext || tag);
* header = magic ``NXD1`` || plaintext segment size (4 bytes) || random nonce prefix (8 bytes);
* the nonce of segment i is the prefix || i (4 bytes), and its associated data binds the object
  key, i and whether it is the last segment, so segments cannot be moved between objects,
  reordered, dropped or the object truncated without the tag check failing.

The data key is wrapped (AES-GCM) by the current master key, with the object key as associated
data; only the wrapped key and the master key's id are stored. Destroying the wrapped key
(purge) makes the content unreadable even if a copy of the object survives (crypto-shredding).
Master keys are versioned by id, so a new key can become current while older data keys are
still unwrapped by the key that wrapped them.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"NXD1"
HEADER_SIZE = len(MAGIC) + 4 + 8
TAG_SIZE = 16
DEFAULT_SEGMENT_SIZE = 256 * 1024
KEY_SIZE = 32
_MAX_SEGMENTS = 2**32


class IntegrityError(Exception):
    """Stored ciphertext or a wrapped key failed authentication: tampered or corrupted."""


@dataclass(frozen=True)
class MasterKeys:
    """The master keys by id; ``current`` wraps new data keys."""

    current: str
    keys: dict[str, bytes]

    def __post_init__(self) -> None:
        if self.current not in self.keys:
            raise ValueError(f"the current master key {self.current!r} is not among the keys")
        for key_id, key in self.keys.items():
            if len(key) != KEY_SIZE:
                raise ValueError(f"master key {key_id!r} must be {KEY_SIZE} bytes")

    def wrap(self, data_key: bytes, context: bytes) -> tuple[str, bytes]:
        """(master key id, nonce || wrapped data key) for ``data_key`` bound to ``context``."""
        nonce = os.urandom(12)
        return self.current, nonce + AESGCM(self.keys[self.current]).encrypt(nonce, data_key, context)

    def unwrap(self, key_id: str, wrapped: bytes, context: bytes) -> bytes:
        key = self.keys.get(key_id)
        if key is None:
            raise IntegrityError(f"master key {key_id!r} is not configured")
        try:
            return AESGCM(key).decrypt(wrapped[:12], wrapped[12:], context)
        except InvalidTag:
            raise IntegrityError("the data key failed authentication") from None


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def _aad(context: bytes, index: int, final: bool) -> bytes:
    return context + struct.pack(">IB", index, 1 if final else 0)


class SegmentEncryptor:
    """Encrypts a plaintext stream fed in pieces of any size into the object format."""

    def __init__(self, data_key: bytes, context: bytes, segment_size: int = DEFAULT_SEGMENT_SIZE) -> None:
        self._aead = AESGCM(data_key)
        self._context = context
        self._segment_size = segment_size
        self._prefix = os.urandom(8)
        self._buffer = bytearray()
        self._index = 0
        self._finished = False

    def header(self) -> bytes:
        return MAGIC + struct.pack(">I", self._segment_size) + self._prefix

    def update(self, data: bytes) -> Iterator[bytes]:
        """Encrypted segments completed by ``data``; the last segment waits for ``finish``."""
        self._buffer += data
        # Strictly greater: a full segment may still turn out to be the last one.
        while len(self._buffer) > self._segment_size:
            yield self._seal(bytes(self._buffer[: self._segment_size]), final=False)
            del self._buffer[: self._segment_size]

    def finish(self) -> bytes:
        """The last segment (possibly empty, for empty content)."""
        if self._finished:
            raise RuntimeError("finish called twice")
        self._finished = True
        return self._seal(bytes(self._buffer), final=True)

    def _seal(self, plaintext: bytes, *, final: bool) -> bytes:
        if self._index >= _MAX_SEGMENTS:
            raise ValueError("content too large for one object")
        nonce = self._prefix + struct.pack(">I", self._index)
        sealed = self._aead.encrypt(nonce, plaintext, _aad(self._context, self._index, final))
        self._index += 1
        return sealed


class SegmentDecryptor:
    """Decrypts the object format read in pieces of any size, segment by segment.

    Every plaintext segment it yields has passed its tag check; a missing final segment
    (truncation) is detected by ``finish``.
    """

    def __init__(self, data_key: bytes, context: bytes) -> None:
        self._aead = AESGCM(data_key)
        self._context = context
        self._buffer = bytearray()
        self._segment_size = 0
        self._prefix = b""
        self._index = 0
        self._done = False

    def update(self, data: bytes) -> Iterator[bytes]:
        self._buffer += data
        if not self._segment_size:
            if len(self._buffer) < HEADER_SIZE:
                return
            if bytes(self._buffer[:4]) != MAGIC:
                raise IntegrityError("the stored object is not in the encrypted document format")
            (self._segment_size,) = struct.unpack(">I", self._buffer[4:8])
            self._prefix = bytes(self._buffer[8:HEADER_SIZE])
            del self._buffer[:HEADER_SIZE]
            if not 0 < self._segment_size <= 64 * 1024 * 1024:
                raise IntegrityError("the stored object has an invalid segment size")
        sealed_size = self._segment_size + TAG_SIZE
        # As in encryption: a full segment is the last one only if nothing follows it.
        while len(self._buffer) > sealed_size:
            yield self._open(bytes(self._buffer[:sealed_size]), final=False)
            del self._buffer[:sealed_size]

    def finish(self) -> bytes:
        if not self._segment_size:
            raise IntegrityError("the stored object is truncated")
        return self._open(bytes(self._buffer), final=True)

    def _open(self, sealed: bytes, *, final: bool) -> bytes:
        if self._done:
            raise IntegrityError("the stored object has data after its last segment")
        nonce = self._prefix + struct.pack(">I", self._index)
        try:
            plaintext = self._aead.decrypt(nonce, sealed, _aad(self._context, self._index, final))
        except InvalidTag:
            raise IntegrityError(f"segment {self._index} of the object failed authentication") from None
        self._index += 1
        self._done = final
        return plaintext


def encrypt(
    data_key: bytes, context: bytes, plaintext: bytes, segment_size: int = DEFAULT_SEGMENT_SIZE
) -> bytes:
    """The whole object for ``plaintext`` (small contents and tests)."""
    encryptor = SegmentEncryptor(data_key, context, segment_size)
    return encryptor.header() + b"".join(encryptor.update(plaintext)) + encryptor.finish()


def decrypt(data_key: bytes, context: bytes, sealed: bytes) -> bytes:
    decryptor = SegmentDecryptor(data_key, context)
    return b"".join(decryptor.update(sealed)) + decryptor.finish()
