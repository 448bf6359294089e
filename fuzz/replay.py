"""Replay fuzz inputs through a harness check, compiled module against the pure twin.

    python fuzz/replay.py headers fuzz/corpus/headers [more files or directories]

Used by scripts/ci-fuzz to rerun the grown corpus under AddressSanitizer, and to reproduce a
crash file libFuzzer saved (``fuzz/crashes/<target>-crash-...``).
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import implementations


def main(target: str, paths: list[str]) -> int:
    check = importlib.import_module(f"fuzz_{target}").check
    candidate, reference = implementations(target)
    files = []
    for arg in map(Path, paths):
        files += sorted(arg.iterdir()) if arg.is_dir() else [arg]
    for path in files:
        check(path.read_bytes(), candidate, reference)
    print(f"{target}: {len(files)} inputs replayed on {candidate.__file__}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    raise SystemExit(main(sys.argv[1], sys.argv[2:]))
