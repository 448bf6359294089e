"""Replay the fuzz corpus (fuzz/corpus/<target>/) through the harnesses' checks.

Each harness compares an implementation with the pure twin and its oracle (``parse_qsl`` for
queries, a plain model for headers). Crashes or disagreements the fuzzers find are saved into
the corpus as ``regression-*`` files, so they are rerun here for both implementations.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from .conftest import Implementation

FUZZ = Path(__file__).resolve().parent.parent / "fuzz"
TARGETS = ("headers", "query", "dispatch")


def harness(target: str) -> ModuleType:
    """Load ``fuzz/fuzz_<target>.py`` (fuzz/ is not a package)."""
    name = f"fuzz_{target}"
    if name not in sys.modules:
        sys.path.insert(0, str(FUZZ))
        try:
            spec = importlib.util.spec_from_file_location(name, FUZZ / f"{name}.py")
            assert spec is not None
            assert spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
        finally:
            sys.path.remove(str(FUZZ))
    return sys.modules[name]


def corpus(target: str) -> list[Path]:
    return sorted((FUZZ / "corpus" / target).iterdir())


@pytest.mark.parametrize("target", TARGETS)
def test_the_corpus_is_there(target: str) -> None:
    assert len(corpus(target)) >= 5


@pytest.mark.parametrize("target", TARGETS)
def test_corpus_replays_cleanly(implementation: Implementation, target: str) -> None:
    check = harness(target).check
    candidate = implementation.module(target)
    reference = importlib.import_module(f"genro_asgi._{target}_py")
    for path in corpus(target):
        check(path.read_bytes(), candidate, reference)


@pytest.mark.parametrize("target", TARGETS)
def test_harness_detects_a_disagreement(target: str) -> None:
    """The check is not vacuous: a candidate that behaves differently fails it."""
    reference = importlib.import_module(f"genro_asgi._{target}_py")
    broken = ModuleType("broken")
    if target == "headers":

        class Headers(reference.Headers):  # type: ignore[name-defined,misc]
            def getlist(self, key: str) -> list[str]:
                return super().getlist(key)[:1]

        broken.Headers = Headers  # type: ignore[attr-defined]
    elif target == "query":

        class QueryParams(reference.QueryParams):  # type: ignore[name-defined,misc]
            def multi_items(self) -> list[tuple[str, str]]:
                return super().multi_items()[1:]

        broken.QueryParams = QueryParams  # type: ignore[attr-defined]
    else:
        for name in ("bytes_payload", "data_payload", "disconnect_exception"):
            setattr(broken, name, getattr(reference, name))
        broken.text_payload = lambda message: "x"  # type: ignore[attr-defined]
    failures = 0
    for path in corpus(target):
        try:
            harness(target).check(path.read_bytes(), broken, reference)
        except AssertionError:
            failures += 1
    assert failures > 0
