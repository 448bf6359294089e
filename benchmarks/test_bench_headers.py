"""Workload 1: build Headers from a 16-entry browser handshake, 4 look-ups and one ``in``."""

from __future__ import annotations

from typing import Any

import pytest
import starlette.datastructures

from ._impls import HANDSHAKE, package


def headers_class(impl: str) -> Any:
    if impl == "starlette":
        return lambda raw: starlette.datastructures.Headers(raw=raw)
    return package(impl).Headers


@pytest.mark.parametrize("impl", ["compiled", "pure", "starlette"])
def test_headers(benchmark: Any, impl: str) -> None:
    benchmark.group = "headers"
    make = headers_class(impl)
    raw = list(HANDSHAKE)

    def workload() -> tuple[Any, ...]:
        headers = make(raw)
        return (
            headers.get("host"),
            headers.get("origin"),
            headers.get("sec-websocket-key"),
            headers.get("x-missing"),
            "upgrade" in headers,
        )

    result = benchmark(workload)
    assert result == (
        "chat.example.com",
        "https://chat.example.com",
        "dGhlIHNhbXBsZSBub25jZQ==",
        None,
        True,
    )
