"""The binary envelope a publish travels in between processes (SPEC section 7).

Layout (big-endian, 28 bytes of header, then the payload)::

    offset  size  field
    0       2     magic b"GA"
    2       1     format version (1)
    3       1     frame kind (0 TEXT: the payload is UTF-8, 1 BYTES)
    4       16    publisher id (random per backend instance)
    20      8     the publisher's sequence number for this topic (unsigned)
    28      ...   payload

No pickle: decoding never runs code, and anything that is not an envelope of this version is
rejected with an ``EnvelopeError`` that says why.
"""

from __future__ import annotations

import struct
from typing import Final, NamedTuple

from ._backend import BYTES, TEXT

MAGIC: Final = b"GA"
VERSION: Final = 1
PUBLISHER_ID_SIZE: Final = 16
MAX_SEQ: Final = (1 << 64) - 1

_HEADER: Final = struct.Struct(">2sBB16sQ")
HEADER_SIZE: Final = _HEADER.size  # 28


class EnvelopeError(ValueError):
    """Bytes that are not a valid envelope (base class of the three reasons below)."""


class TruncatedEnvelope(EnvelopeError):
    """Fewer bytes than an envelope's header."""


class ForeignEnvelope(EnvelopeError):
    """Bytes that were not written by genro-asgi (wrong magic, unknown kind, bad UTF-8)."""


class UnsupportedVersion(EnvelopeError):
    """An envelope of a format version this release does not read."""


class Envelope(NamedTuple):
    """One decoded envelope."""

    kind: int
    publisher: bytes
    seq: int
    payload: str | bytes


def encode(kind: int, publisher: bytes, seq: int, payload: str | bytes) -> bytes:
    """The envelope of one frame.

    Raises:
        ValueError: ``kind`` is neither TEXT nor BYTES, ``publisher`` is not 16 bytes, ``seq``
            does not fit in 64 unsigned bits, or the payload's type does not match ``kind``.
    """
    if len(publisher) != PUBLISHER_ID_SIZE:
        raise ValueError(f"A publisher id is {PUBLISHER_ID_SIZE} bytes, not {len(publisher)}.")
    if not 0 <= seq <= MAX_SEQ:
        raise ValueError(f"A sequence number is between 0 and 2**64 - 1, not {seq}.")
    if kind == TEXT:
        if not isinstance(payload, str):
            raise ValueError("A TEXT frame's payload is a str.")
        body = payload.encode("utf-8")
    elif kind == BYTES:
        if isinstance(payload, str):
            raise ValueError("A BYTES frame's payload is bytes, not str.")
        body = bytes(payload)
    else:
        raise ValueError(f"Unknown frame kind {kind!r}: TEXT is 0, BYTES is 1.")
    return _HEADER.pack(MAGIC, VERSION, kind, publisher, seq) + body


def decode(data: bytes | bytearray | memoryview) -> Envelope:
    """Decode one envelope (TEXT payloads as ``str``, BYTES as ``bytes``).

    Raises:
        TruncatedEnvelope: fewer than 28 bytes.
        ForeignEnvelope: not written by genro-asgi (magic, frame kind, or invalid UTF-8 text).
        UnsupportedVersion: written by a release with another envelope format version.
    """
    if len(data) < HEADER_SIZE:
        if bytes(data[:2]) not in (MAGIC, MAGIC[: len(data)]):
            raise ForeignEnvelope("The message does not start with the genro-asgi magic b'GA'.")
        raise TruncatedEnvelope(
            f"An envelope has at least {HEADER_SIZE} bytes; this message has {len(data)}."
        )
    magic, version, kind, publisher, seq = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise ForeignEnvelope("The message does not start with the genro-asgi magic b'GA'.")
    if version != VERSION:
        raise UnsupportedVersion(
            f"Envelope format version {version} is not supported (this release reads {VERSION})."
        )
    body = bytes(data[HEADER_SIZE:])
    if kind == TEXT:
        try:
            return Envelope(TEXT, publisher, seq, body.decode("utf-8"))
        except UnicodeDecodeError:
            raise ForeignEnvelope("A TEXT envelope's payload is not valid UTF-8.") from None
    if kind == BYTES:
        return Envelope(BYTES, publisher, seq, body)
    raise ForeignEnvelope(f"Unknown frame kind {kind} in the envelope.")
