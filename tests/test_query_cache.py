"""The listing methods of ``QueryParams`` decode once: ``len()`` and friends reuse that work.

The compiled twin decodes lazily: a parse followed by look-ups decodes only the values it
returns; the first ``len()``/``keys()``/``values()``/``items()``/iteration/``multi_items()``
decodes every pair and keeps them. These tests pin that the work is not redone (the same
decoded objects come back, and 1000 ``len()`` calls cost less than 10 parses) and that the
cached answers are still the pure twin's, whatever the order of calls.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from .conftest import ModulePair
from .test_query_differential import KEYS, QUERIES, TEXTS, key_outcomes, whole_outcomes

QUERY = b"k%41=caf%C3%A9&long+key=two+words&kA=dup&%E2%82%AC=euro&flag&=empty"


def listings(params: Any) -> list[Any]:
    """Every decoded object the listing methods return, flattened."""
    found: list[Any] = [*params.keys(), *params.values(), *list(params)]
    for pairs in (params.items(), params.multi_items()):
        for key, value in pairs:
            found += [key, value]
    return found


def test_listings_return_the_same_decoded_objects(query_module: ModuleType) -> None:
    """Decoding makes a new ``str`` each time: getting the same objects back proves reuse."""
    params = query_module.QueryParams(QUERY)
    first, again = listings(params), listings(params)
    assert again == first
    assert all(a is b for a, b in zip(again, first, strict=True))
    assert len(params) == 5


def test_listings_return_fresh_containers(query_module: ModuleType) -> None:
    """The cache is never handed out: changing a returned list changes nothing."""
    params = query_module.QueryParams(QUERY)
    for listing in (params.keys(), params.values(), params.items(), params.multi_items()):
        expected = list(listing)
        listing.clear()
        assert listing is not params.keys()
        assert len(params) == 5
        assert params.multi_items()[0] == ("kA", "café")
        assert expected  # each listing had something to lose
    assert params.keys() == ["kA", "long key", "€", "flag", ""]


def test_reinit_drops_the_cache(query_pair: ModulePair) -> None:
    for module in (query_pair.compiled, query_pair.pure):
        params = module.QueryParams(QUERY)
        assert len(params) == 5
        params.__init__("c=3&c=4")
        assert len(params) == 1
        assert params.items() == [("c", "3")]
        assert params.multi_items() == [("c", "3"), ("c", "4")]
        assert list(params) == ["c"]


def interleaved(params: Any, keys: list[Any], order: list[int]) -> list[Any]:
    """Listings and look-ups in the given order, then everything again (the cache built)."""
    steps: list[Callable[[], Any]] = [
        lambda: whole_outcomes(params),
        *[lambda key=key: key_outcomes(params, key) for key in keys],
    ]
    return [steps[i % len(steps)]() for i in order] + [step() for step in steps]


@settings(max_examples=150, deadline=None)
@given(
    query=QUERIES | TEXTS,
    keys=st.lists(KEYS, max_size=3),
    order=st.lists(st.integers(min_value=0, max_value=10), max_size=6),
)
def test_cached_answers_match_the_pure_twin(
    query_pair: ModulePair, query: Any, keys: list[Any], order: list[int]
) -> None:
    compiled, pure = query_pair.compiled.QueryParams(query), query_pair.pure.QueryParams(query)
    keys = [*keys, *pure.keys()[:2]]  # the compiled cache is not built yet
    assert interleaved(compiled, keys, order) == interleaved(pure, keys, order), query


def test_repeated_len_is_constant_time(query_module: ModuleType) -> None:
    """1000 ``len()`` calls on a 100k-param query take less time than 10 parses of it.

    Recomputing would decode 100k pairs per call (hundreds of times slower than this bound);
    the loop stops as soon as it has spent the budget, so a regression fails quickly. Both are
    CPU time (``time.process_time``): another process holding the CPU does not count.
    """
    query = b"&".join(b"k%d=v%d" % (i, i % 10) for i in range(100_000))
    params = query_module.QueryParams(query)
    gc.collect()
    start = time.process_time()
    for _ in range(10):
        query_module.QueryParams(query).get("k1")
    budget = time.process_time() - start
    assert len(params) == 100_000  # builds the cache, outside the measured loop
    calls = 0
    start = time.process_time()
    while calls < 1000 and time.process_time() - start < budget:
        assert len(params) == 100_000
        calls += 1
    spent = time.process_time() - start
    assert calls == 1000, f"only {calls} len() calls fit in the time of 10 parses ({spent:.3f} s)"
