"""Shared pieces of the fuzz harnesses: a byte reader, implementation loading, outcomes.

The harnesses decode their input with ``Reader`` (no atheris needed), so the corpus replays
under plain pytest (``tests/test_fuzz_regressions.py``) and under AddressSanitizer.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from types import ModuleType
from typing import Any


class Reader:
    """Consume fuzz input deterministically; reads past the end give zeros / empty bytes."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def __bool__(self) -> bool:
        return self.pos < len(self.data)

    def byte(self) -> int:
        if self.pos >= len(self.data):
            return 0
        self.pos += 1
        return self.data[self.pos - 1]

    def take(self, n: int) -> bytes:
        chunk = self.data[self.pos : self.pos + n]
        self.pos += len(chunk)
        return chunk

    def rest(self) -> bytes:
        return self.take(len(self.data) - self.pos)


def implementations(hot_path: str) -> tuple[ModuleType, ModuleType]:
    """``(candidate, reference)``: the module under test and the pure-Python twin.

    ``GENRO_FUZZ_IMPL=py`` fuzzes the pure twin (against its oracles only); the default ``c``
    needs the compiled module and fails loudly when it is missing.
    """
    reference = importlib.import_module(f"genro_asgi._{hot_path}_py")
    suffix = os.environ.get("GENRO_FUZZ_IMPL", "c")
    if suffix not in ("c", "py"):
        raise SystemExit(f"GENRO_FUZZ_IMPL must be 'c' or 'py', got {suffix!r}")
    return importlib.import_module(f"genro_asgi._{hot_path}_{suffix}"), reference


def outcome(function: Callable[..., Any], *args: Any) -> tuple[str, Any]:
    """What the call does: ``("ok", result)`` or ``("raised", (type, message))``."""
    try:
        return ("ok", function(*args))
    except Exception as exc:  # the point is to compare any exception
        return ("raised", (type(exc), str(exc)))


def typed(value: Any) -> Any:
    """``value`` with the type of every element spelled out, so ``"a" != b"a"`` and lists
    differ from tuples when compared."""
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [typed(item) for item in value])
    if isinstance(value, dict):
        return ("dict", [(typed(k), typed(v)) for k, v in value.items()])
    if isinstance(value, type):
        return ("type", value.__qualname__)
    return (type(value).__name__, value)


def same(what: str, got: Any, expected: Any) -> None:
    """Fail with a readable message when the candidate and the reference disagree."""
    if typed(got) != typed(expected):
        raise AssertionError(f"{what}: candidate {got!r} != reference {expected!r}")


def main(hot_path: str, check: Callable[[bytes, ModuleType, ModuleType], None]) -> None:
    """Fuzz ``check`` with atheris/libFuzzer (command-line arguments go to libFuzzer).

    The pure twin is instrumented for Python coverage. A compiled module built with clang
    ``-fsanitize-coverage=inline-8bit-counters,pc-table,trace-cmp`` (scripts/ci-fuzz does)
    feeds libFuzzer native coverage too: it is imported on the first input, once atheris has
    loaded its libFuzzer, whose coverage callbacks are then made global.
    """
    import ctypes
    import sys

    import atheris

    modules: list[ModuleType] = []

    def one_input(data: bytes) -> None:
        if not modules:
            core = sys.modules.get("atheris.core_with_libfuzzer")
            if core is not None and core.__file__:
                ctypes.CDLL(core.__file__, mode=os.RTLD_NOLOAD | os.RTLD_GLOBAL)
            with atheris.instrument_imports(include=["genro_asgi", "urllib"]):
                modules.extend(implementations(hot_path))
            print(f"fuzzing {modules[0].__name__} ({modules[0].__file__})", file=sys.stderr)
        check(data, modules[0], modules[1])

    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
