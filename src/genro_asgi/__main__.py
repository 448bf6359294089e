"""``python -m genro_asgi``: version, interpreter, platform and the implementation in use."""

from __future__ import annotations

import platform
import sys

from . import COMPILED, __version__, _dispatch, _fanout, _headers, _json, _query
from ._compat import NO_EXTENSIONS

HOT_PATHS = {"headers": _headers, "query": _query, "dispatch": _dispatch, "fanout": _fanout}


def report() -> str:
    """The lines ``python -m genro_asgi`` prints."""
    lines = [
        f"genro-asgi {__version__}",
        f"Python {platform.python_version()} ({sys.implementation.name}) on {platform.platform()}",
        f"GENRO_ASGI_NO_EXTENSIONS: {'set' if NO_EXTENSIONS else 'not set'}",
    ]
    for name, module in HOT_PATHS.items():
        lines.append(f"{name:<9} {'compiled' if module.COMPILED else 'pure-Python'}")
    lines.append(f"json      {_json.BACKEND}")
    lines.append(f"COMPILED  {COMPILED}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(report())
