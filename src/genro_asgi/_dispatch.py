"""Switch: the compiled ``_dispatch_c`` when available, else the pure-Python twin."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._compat import NO_EXTENSIONS

COMPILED: bool
if TYPE_CHECKING or NO_EXTENSIONS:
    from ._dispatch_py import bytes_payload, data_payload, disconnect_exception, text_payload

    COMPILED = False
else:
    try:
        from ._dispatch_c import bytes_payload, data_payload, disconnect_exception, text_payload

        COMPILED = True
    except ImportError:
        from ._dispatch_py import bytes_payload, data_payload, disconnect_exception, text_payload

        COMPILED = False

__all__ = ["COMPILED", "bytes_payload", "data_payload", "disconnect_exception", "text_payload"]
