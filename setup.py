"""Build the Cython hot paths; a pure-Python package when they cannot or must not be built.

- ``GENRO_ASGI_NO_EXTENSIONS=1`` or a non-CPython interpreter: pure-Python package.
- ``GENRO_ASGI_CYTHON_TRACE=1``: compile with line tracing so coverage sees the ``.pyx`` lines.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from setuptools import Extension, setup

HERE = Path(__file__).parent
PACKAGE = HERE / "src" / "genro_asgi"
NO_EXTENSIONS = bool(os.environ.get("GENRO_ASGI_NO_EXTENSIONS")) or (
    sys.implementation.name != "cpython"
)
TRACE = bool(os.environ.get("GENRO_ASGI_CYTHON_TRACE"))


def extensions() -> list[Extension]:
    from Cython.Build import cythonize

    macros = [("CYTHON_TRACE", "1"), ("CYTHON_TRACE_NOGIL", "1")] if TRACE else []
    modules = [
        Extension(
            f"genro_asgi.{pyx.stem}",
            [str(pyx.relative_to(HERE))],
            define_macros=macros,
        )
        for pyx in sorted(PACKAGE.glob("*_c.pyx"))
    ]
    directives = {
        "language_level": "3",
        "embedsignature": True,
        "freethreading_compatible": True,
        "linetrace": TRACE,
    }
    return cythonize(modules, compiler_directives=directives)


setup(ext_modules=[] if NO_EXTENSIONS else extensions())
