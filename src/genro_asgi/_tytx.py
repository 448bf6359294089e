"""Typed messages through the optional ``genro-tytx`` package, imported on first use."""

from __future__ import annotations

from typing import Any


def _tytx() -> Any:
    try:
        import genro_tytx
    except ImportError as exc:
        raise ImportError(
            "Typed messages need the genro-tytx package: pip install genro-asgi[tytx]."
        ) from exc
    return genro_tytx


def encode(data: Any) -> str:
    """``data`` as TYTX-marked JSON text."""
    text = _tytx().to_tytx(data)
    return text if isinstance(text, str) else text.decode("utf-8")


def decode(text: str) -> Any:
    """The value of TYTX JSON text, typed values hydrated (plain JSON passes through)."""
    return _tytx().from_tytx(text)
