"""Workload 2: parse a query string (2, 10 and 100 params), then 2 look-ups."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import pytest
import starlette.datastructures

from ._impls import QUERIES, QUERY_LOOKUPS, package


def parse_qsl_dict(query: bytes) -> dict[str, str]:
    """The peer: what an application would write with the standard library."""
    return dict(parse_qsl(query.decode("latin-1"), keep_blank_values=True))


def parser(impl: str) -> Any:
    if impl == "parse_qsl":
        return parse_qsl_dict
    if impl == "starlette":
        return starlette.datastructures.QueryParams
    return package(impl).QueryParams


@pytest.mark.parametrize("impl", ["compiled", "pure", "starlette", "parse_qsl"])
@pytest.mark.parametrize("size", list(QUERIES))
def test_query(benchmark: Any, size: str, impl: str) -> None:
    benchmark.group = size
    parse = parser(impl)
    query = QUERIES[size]
    present, missing = QUERY_LOOKUPS[size]

    def workload() -> tuple[Any, Any]:
        params = parse(query)
        return params.get(present), params.get(missing)

    result = benchmark(workload)
    expected = dict(parse_qsl(query.decode("latin-1"), keep_blank_values=True))
    assert result == (expected[present], None)
