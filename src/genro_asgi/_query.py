"""Switch: the compiled ``_query_c`` when available, else the pure-Python twin."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._compat import NO_EXTENSIONS

COMPILED: bool
if TYPE_CHECKING or NO_EXTENSIONS:
    from ._query_py import QueryParams, query_params_from_scope

    COMPILED = False
else:
    try:
        from ._query_c import QueryParams, query_params_from_scope

        COMPILED = True
    except ImportError:
        from ._query_py import QueryParams, query_params_from_scope

        COMPILED = False

__all__ = ["COMPILED", "QueryParams", "query_params_from_scope"]
