"""Switch: the compiled ``_headers_c`` when available, else the pure-Python twin."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._compat import NO_EXTENSIONS

COMPILED: bool
if TYPE_CHECKING or NO_EXTENSIONS:
    from ._headers_py import Headers, headers_from_scope

    COMPILED = False
else:
    try:
        from ._headers_c import Headers, headers_from_scope

        COMPILED = True
    except ImportError:
        from ._headers_py import Headers, headers_from_scope

        COMPILED = False

__all__ = ["COMPILED", "Headers", "headers_from_scope"]
