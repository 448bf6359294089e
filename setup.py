"""Build the Cython hot paths; a pure-Python package when they cannot or must not be built.

- ``GENRO_ASGI_NO_EXTENSIONS=1`` or a non-CPython interpreter: pure-Python package (the wheel is
  ``py3-none-any``).
- No Cython, no working C compiler, or a failed compile: a pure-Python package with a warning,
  so ``pip install`` from the sdist still works everywhere.
- ``GENRO_ASGI_REQUIRE_EXTENSIONS=1``: any of those failures stops the build instead
  (cibuildwheel sets it, so a platform wheel never ships without its compiled modules).
- ``GENRO_ASGI_CYTHON_TRACE=1``: compile with line tracing so coverage sees the ``.pyx`` lines.

Metadata lives in ``pyproject.toml``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.errors import CCompilerError, ExecError, PlatformError

HERE = Path(__file__).parent
PACKAGE = HERE / "src" / "genro_asgi"
NO_EXTENSIONS = bool(os.environ.get("GENRO_ASGI_NO_EXTENSIONS")) or (
    sys.implementation.name != "cpython"
)
REQUIRE_EXTENSIONS = bool(os.environ.get("GENRO_ASGI_REQUIRE_EXTENSIONS"))
TRACE = bool(os.environ.get("GENRO_ASGI_CYTHON_TRACE"))

#: Cython directives for every hot-path module (a ``.pyx`` may tighten them in its header).
DIRECTIVES = {
    "language_level": "3",
    "embedsignature": True,
    "freethreading_compatible": True,
    "linetrace": TRACE,
}

#: What a missing or broken compiler raises (the ValueError comes from MSVC discovery).
BUILD_ERRORS: tuple[type[Exception], ...] = (CCompilerError, ExecError, PlatformError, ValueError)


def extensions() -> list[Extension]:
    """One extension per ``src/genro_asgi/*_c.pyx``; cythonized when ``build_ext`` runs."""
    macros = [("CYTHON_TRACE", "1"), ("CYTHON_TRACE_NOGIL", "1")] if TRACE else []
    return [
        Extension(
            f"genro_asgi.{pyx.stem}", [pyx.relative_to(HERE).as_posix()], define_macros=macros
        )
        for pyx in sorted(PACKAGE.glob("*_c.pyx"))
    ]


class OptionalBuildExt(build_ext):
    """``build_ext`` that falls back to a pure-Python package instead of failing the install.

    All or nothing: after any failure no compiled module is shipped, and a wheel being built is
    tagged ``py3-none-any``. With ``GENRO_ASGI_REQUIRE_EXTENSIONS`` set, the failure is fatal.
    """

    def run(self) -> None:
        if not self.extensions:
            super().run()
            return
        inplace = self.inplace
        try:
            try:
                from Cython.Build import cythonize
                from Cython.Compiler.Errors import CompileError as CythonError
            except ImportError as exc:
                self.give_up(f"Cython is not installed ({exc})", exc, inplace)
                return
            try:
                generated = cythonize(
                    self.extensions, compiler_directives=DIRECTIVES, force=bool(self.force)
                )
                c_sources = {ext.name: ext.sources for ext in generated}
                for ext in self.extensions:  # keep setuptools' finalized Extension objects
                    ext.sources = c_sources[ext.name]
                super().run()
            except (*BUILD_ERRORS, CythonError) as exc:
                self.give_up(f"{type(exc).__name__}: {exc}", exc, inplace)
        finally:
            self.inplace = inplace  # setuptools leaves it off when its run() raises

    def give_up(self, reason: str, exc: Exception, inplace: bool) -> None:
        """Fail loudly if extensions are required, else drop them all and warn.

        Dropped means: the modules built so far are deleted from the build directory and, for
        an in-place (editable) build, from the source tree, so no stale one is imported.
        """
        if REQUIRE_EXTENSIONS:
            raise SystemExit(
                "error: genro-asgi: building the compiled hot paths failed and "
                f"GENRO_ASGI_REQUIRE_EXTENSIONS is set.\n  cause: {reason}\n"
                "  Install Cython and a working C compiler with the Python headers, or unset "
                "GENRO_ASGI_REQUIRE_EXTENSIONS to accept a pure-Python install."
            ) from exc
        for in_source_tree in sorted({False, inplace}):  # all or nothing: no partial build
            self.inplace = in_source_tree  # get_ext_fullpath reads it; run() restores it
            for ext in self.extensions:
                Path(self.get_ext_fullpath(ext.name)).unlink(missing_ok=True)
        self.extensions = []
        self.distribution.ext_modules = []
        wheel = self.distribution.command_obj.get("bdist_wheel")
        if wheel is not None:
            wheel.root_is_pure = True  # tag it py3-none-any
        bar = "*" * 78
        sys.stderr.write(
            f"\n{bar}\nWARNING: genro-asgi is being installed WITHOUT its compiled hot paths.\n"
            f"  cause: {reason}\n"
            "  The pure-Python twins behave identically, only slower.\n"
            "  For the compiled modules, install a C compiler and the Python headers, then\n"
            "  reinstall from the sdist:\n"
            "    pip install --no-cache-dir --force-reinstall --no-binary genro-asgi genro-asgi\n"
            "  'python -m genro_asgi' tells which implementation is in use.\n"
            f"{bar}\n\n"
        )


if NO_EXTENSIONS and REQUIRE_EXTENSIONS:
    sys.exit(
        "error: GENRO_ASGI_REQUIRE_EXTENSIONS is set but the compiled hot paths cannot be built "
        f"(GENRO_ASGI_NO_EXTENSIONS is set or the interpreter is {sys.implementation.name}, "
        "not CPython). Unset one of the two."
    )

setup(
    ext_modules=[] if NO_EXTENSIONS else extensions(),
    cmdclass={"build_ext": OptionalBuildExt},
)
