"""SPEC section 5: WebSocketDisconnect and WebSocketException."""

from __future__ import annotations

import pickle

import pytest

from genro_asgi.exceptions import WebSocketDisconnect, WebSocketException

BOTH = [WebSocketDisconnect, WebSocketException]


@pytest.mark.parametrize("cls", BOTH)
def test_defaults(cls: type[Exception]) -> None:
    exc = cls()
    assert (exc.code, exc.reason) == (1000, "")  # type: ignore[attr-defined]


@pytest.mark.parametrize("cls", BOTH)
def test_positional_and_keyword_arguments(cls: type[Exception]) -> None:
    positional = cls(4001, "nope")
    keyword = cls(code=4001, reason="nope")
    for exc in (positional, keyword):
        assert (exc.code, exc.reason) == (4001, "nope")  # type: ignore[attr-defined]


@pytest.mark.parametrize("cls", BOTH)
def test_derive_from_exception_only(cls: type[Exception]) -> None:
    assert cls.__mro__ == (cls, Exception, BaseException, object)


def _raise_and_catch(raised: Exception, caught: type[Exception]) -> None:
    try:
        raise raised
    except caught:  # pragma: no cover - must not match
        pytest.fail(f"{caught.__name__} caught a {type(raised).__name__}")


@pytest.mark.parametrize(
    ("raised", "caught"),
    [
        (WebSocketDisconnect(1001), WebSocketException),
        (WebSocketException(4000), WebSocketDisconnect),
    ],
)
def test_neither_catches_the_other(raised: Exception, caught: type[Exception]) -> None:
    assert not issubclass(type(raised), caught)
    with pytest.raises(type(raised)):
        _raise_and_catch(raised, caught)


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (WebSocketDisconnect(), "WebSocket disconnected with code 1000"),
        (WebSocketDisconnect(code=1000), "WebSocket disconnected with code 1000"),
        (WebSocketDisconnect(1006), "WebSocket disconnected with code 1006"),
        (WebSocketDisconnect(1001, "bye"), "WebSocket disconnected with code 1001: bye"),
        (WebSocketDisconnect(4000, "é ü"), "WebSocket disconnected with code 4000: é ü"),
        (WebSocketException(), ""),
        (WebSocketException(4000), ""),
        (WebSocketException(4003, "forbidden"), "forbidden"),
    ],
)
def test_str(exc: Exception, expected: str) -> None:
    assert str(exc) == expected


@pytest.mark.parametrize("cls", BOTH)
@pytest.mark.parametrize(("code", "reason"), [(1000, ""), (4001, "bad 'token'")])
def test_repr_names_class_code_and_reason(cls: type[Exception], code: int, reason: str) -> None:
    text = repr(cls(code, reason))
    assert text.startswith(cls.__name__ + "(")
    assert str(code) in text
    assert repr(reason) in text


@pytest.mark.parametrize("cls", BOTH)
def test_args_and_pickle_round_trip(cls: type[Exception]) -> None:
    exc = cls(4002, "why")
    assert exc.args == (4002, "why")
    clone = pickle.loads(pickle.dumps(exc))
    assert type(clone) is cls
    assert (clone.code, clone.reason) == (4002, "why")  # type: ignore[attr-defined]


def test_public_exceptions_reexported() -> None:
    import genro_asgi

    assert genro_asgi.WebSocketDisconnect is WebSocketDisconnect
    assert genro_asgi.WebSocketException is WebSocketException
