"""Switch: the compiled ``_fanout_c`` when available, else the pure-Python twin."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._compat import NO_EXTENSIONS

COMPILED: bool
if TYPE_CHECKING or NO_EXTENSIONS:
    from ._fanout_py import (
        CLOSE,
        DROP_NEWEST,
        DROP_OLDEST,
        DROPPED,
        FULL,
        QUEUED,
        Drain,
        Outbox,
        fanout,
    )

    COMPILED = False
else:
    try:
        from ._fanout_c import (
            CLOSE,
            DROP_NEWEST,
            DROP_OLDEST,
            DROPPED,
            FULL,
            QUEUED,
            Drain,
            Outbox,
            fanout,
        )

        COMPILED = True
    except ImportError:
        from ._fanout_py import (
            CLOSE,
            DROP_NEWEST,
            DROP_OLDEST,
            DROPPED,
            FULL,
            QUEUED,
            Drain,
            Outbox,
            fanout,
        )

        COMPILED = False

__all__ = [
    "CLOSE",
    "COMPILED",
    "DROPPED",
    "DROP_NEWEST",
    "DROP_OLDEST",
    "FULL",
    "QUEUED",
    "Drain",
    "Outbox",
    "fanout",
]
