"""The binary envelope between processes: round trips, and every kind of bad input rejected."""

from __future__ import annotations

import struct
from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st


@pytest.fixture(scope="module")
def envelope() -> ModuleType:
    from genro_asgi import _envelope

    return _envelope


publishers = st.binary(min_size=16, max_size=16)
seqs = st.integers(min_value=0, max_value=2**64 - 1)


@given(publisher=publishers, seq=seqs, text=st.text())
def test_text_round_trip(envelope: ModuleType, publisher: bytes, seq: int, text: str) -> None:
    data = envelope.encode(0, publisher, seq, text)
    assert len(data) == 28 + len(text.encode())
    assert envelope.decode(data) == (0, publisher, seq, text)
    assert envelope.decode(memoryview(data)) == (0, publisher, seq, text)


@given(publisher=publishers, seq=seqs, body=st.binary())
def test_bytes_round_trip(envelope: ModuleType, publisher: bytes, seq: int, body: bytes) -> None:
    for payload in (body, bytearray(body), memoryview(body)):
        data = envelope.encode(1, publisher, seq, payload)
        decoded = envelope.decode(data)
        assert decoded == (1, publisher, seq, body)
        assert type(decoded.payload) is bytes


def test_layout_is_the_documented_one(envelope: ModuleType) -> None:
    data = envelope.encode(0, bytes(range(16)), 258, "hé")
    assert data == b"GA\x01\x00" + bytes(range(16)) + struct.pack(">Q", 258) + "hé".encode()


@given(publisher=publishers, seq=seqs, body=st.binary(), cut=st.integers(0, 27))
def test_truncated(envelope: ModuleType, publisher: bytes, seq: int, body: bytes, cut: int) -> None:
    data = envelope.encode(1, publisher, seq, body)[:cut]
    with pytest.raises(envelope.TruncatedEnvelope, match="at least 28 bytes"):
        envelope.decode(data)


@given(data=st.binary())
def test_foreign_bytes_never_decode_as_something_else(envelope: ModuleType, data: bytes) -> None:
    if data[:3] == b"GA\x01" and len(data) >= 28 and data[3] in (0, 1):
        return  # a well-formed envelope by construction: covered by the round trips
    with pytest.raises(envelope.EnvelopeError):
        envelope.decode(data)


@pytest.mark.parametrize(
    "data",
    [
        b'{"type": "message", "data": "hello"}' + bytes(10),  # JSON from another library
        b"\x80\x04\x95" + bytes(40),  # a pickle
        b"GB\x01\x00" + bytes(24),  # almost our magic
    ],
)
def test_foreign(envelope: ModuleType, data: bytes) -> None:
    with pytest.raises(envelope.ForeignEnvelope, match="magic"):
        envelope.decode(data)


def test_foreign_short_message(envelope: ModuleType) -> None:
    with pytest.raises(envelope.ForeignEnvelope, match="magic"):
        envelope.decode(b"hi")


def test_unknown_kind_and_bad_utf8_are_foreign(envelope: ModuleType) -> None:
    good = envelope.encode(0, bytes(16), 1, "x")
    with pytest.raises(envelope.ForeignEnvelope, match="Unknown frame kind 7"):
        envelope.decode(good[:3] + b"\x07" + good[4:])
    with pytest.raises(envelope.ForeignEnvelope, match="UTF-8"):
        envelope.decode(good[:28] + b"\xff\xfe")


@pytest.mark.parametrize("version", [0, 2, 255])
def test_wrong_version(envelope: ModuleType, version: int) -> None:
    data = bytearray(envelope.encode(0, bytes(16), 1, "x"))
    data[2] = version
    with pytest.raises(envelope.UnsupportedVersion, match=f"version {version} is not supported"):
        envelope.decode(bytes(data))


def test_errors_are_value_errors(envelope: ModuleType) -> None:
    for cls in (envelope.TruncatedEnvelope, envelope.ForeignEnvelope, envelope.UnsupportedVersion):
        assert issubclass(cls, envelope.EnvelopeError)
        assert issubclass(cls, ValueError)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0, bytes(15), 1, "x"), "publisher id is 16 bytes, not 15"),
        ((0, bytes(16), -1, "x"), "between 0 and 2\\*\\*64 - 1"),
        ((0, bytes(16), 2**64, "x"), "between 0 and 2\\*\\*64 - 1"),
        ((0, bytes(16), 1, b"x"), "TEXT frame's payload is a str"),
        ((1, bytes(16), 1, "x"), "BYTES frame's payload is bytes"),
        ((2, bytes(16), 1, b"x"), "Unknown frame kind 2"),
    ],
)
def test_encode_rejects_bad_arguments(envelope: ModuleType, args, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        envelope.encode(*args)
