"""One switch for the whole package: use the pure-Python twins or the compiled modules."""

from __future__ import annotations

import os
import sys

#: True when the pure-Python twins must be used: ``GENRO_ASGI_NO_EXTENSIONS`` is set to any
#: non-empty value at import time, or the interpreter is not CPython (PyPy, GraalPy, ...).
NO_EXTENSIONS: bool = bool(os.environ.get("GENRO_ASGI_NO_EXTENSIONS")) or (
    sys.implementation.name != "cpython"
)
