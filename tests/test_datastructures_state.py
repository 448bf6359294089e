"""SPEC section 3: State and Address."""

from __future__ import annotations

import operator

import pytest

from genro_asgi.datastructures import Address, State


def test_state_set_get_delete() -> None:
    state = State()
    state.user = "ada"
    assert state.user == "ada"
    assert "user" in state
    del state.user
    assert "user" not in state
    with pytest.raises(AttributeError, match="'user'"):
        _ = state.user


def test_state_missing_attribute_names_the_key() -> None:
    with pytest.raises(AttributeError, match="'nothing_here'"):
        _ = State().nothing_here


def test_state_delete_missing_names_the_key() -> None:
    state = State()
    with pytest.raises(AttributeError, match="'ghost'"):
        del state.ghost


def test_state_wraps_the_dict_given_without_copying() -> None:
    data = {"a": 1}
    state = State(data)
    assert state.a == 1
    state.b = 2
    assert data == {"a": 1, "b": 2}
    data["c"] = 3
    assert state.c == 3
    del state.a
    assert "a" not in data


def test_state_contains_and_iteration() -> None:
    state = State({"x": 1, "y": None})
    assert "x" in state
    assert "y" in state
    assert "z" not in state
    assert 1 not in state
    assert list(state) == ["x", "y"]


def test_state_getattr_falsy_values() -> None:
    state = State({"zero": 0, "none": None})
    assert state.zero == 0
    assert state.none is None


def test_state_repr_shows_the_data() -> None:
    text = repr(State({"user": "ada"}))
    assert text.startswith("State(")
    assert "'user': 'ada'" in text


def test_state_keys_like_slots_and_methods_are_plain_data() -> None:
    state = State()
    state._data_like = 1
    state.keys = "k"
    assert state.keys == "k"
    assert state._data_like == 1


def test_address_fields_and_tuple_behaviour() -> None:
    address = Address("127.0.0.1", 50000)
    assert (address.host, address.port) == ("127.0.0.1", 50000)
    assert address == ("127.0.0.1", 50000)
    assert operator.eq(("127.0.0.1", 50000), address)
    assert address != ("127.0.0.1", 50001)
    host, port = address
    assert (host, port) == ("127.0.0.1", 50000)
    assert hash(address) == hash(("127.0.0.1", 50000))
    assert {address: "x"}[("127.0.0.1", 50000)] == "x"
    assert len(address) == 2


def test_address_repr() -> None:
    assert repr(Address("::1", 1)) == "Address(host='::1', port=1)"


def test_address_immutable() -> None:
    address = Address("h", 1)
    with pytest.raises(AttributeError):
        address.port = 2  # type: ignore[misc]
