"""Sphinx configuration: MyST Markdown guides, autodoc API reference (Google-style docstrings).

Built with warnings as errors by scripts/ci-docs: ``sphinx-build -W --keep-going -b html docs
<out>``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))  # autodoc imports the checkout (pure or built in place)

import genro_asgi  # noqa: E402

project = "genro-asgi"
author = "genro-asgi developers"
copyright = "genro-asgi developers, Apache-2.0"
release = genro_asgi.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build", "_generated", "seed-websocket-api.txt"]
root_doc = "index"

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

autodoc_member_order = "alphabetical"  # as the seed document lists them
autodoc_typehints = "both"
autodoc_typehints_format = "short"
autodoc_preserve_defaults = True
# Show the ASGI aliases by name instead of their expansion (the modules use postponed annotations).
autodoc_type_aliases = {
    name: f"genro_asgi.types.{name}" for name in ("Scope", "Message", "Receive", "Send")
}
autodoc_default_options = {"members": True, "show-inheritance": True}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = True

# No intersphinx: the build needs no network.


html_theme = "furo"
html_title = f"genro-asgi {release}"


def _unreleased_notes() -> None:
    """Render the news fragments not released yet (``towncrier build --draft``) for changelog.md.

    Fails the build when towncrier cannot render them.
    """
    draft = subprocess.run(
        [sys.executable, "-m", "towncrier", "build", "--draft", "--version", release],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lines = draft.strip().splitlines()
    body = "\n".join(lines[1:] if lines and lines[0].startswith("## ") else lines)
    out = Path(__file__).parent / "_generated" / "unreleased.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(body.strip() + "\n", encoding="utf-8")


# The guides and API pages in reading order; any other page in those folders follows,
# alphabetically. A listed page that does not exist yet (fan-out and scale-out are written in
# other branches) is left out, so the build never depends on it.
TOCTREES = {
    "guide": [
        "installation",
        "guide/quickstart",
        "guide/testing",
        "guide/frameworks",
        "guide/fanout",
        "guide/servers-fanout",
        "guide/scale-out",
        "guide/behaviour",
        "guide/servers",
        "guide/security",
        "guide/performance",
    ],
    "api": ["api/websocket", "api/datastructures", "api/exceptions", "api/types", "api/testing"],
}


def _toctrees() -> None:
    """Write ``_generated/<name>-toctree.md`` for each of ``TOCTREES`` (included by index.md)."""
    docs = Path(__file__).parent
    for name, order in TOCTREES.items():
        folder = "guide" if name == "guide" else name
        present = {
            p.relative_to(docs).with_suffix("").as_posix() for p in docs.glob(f"{folder}/*.md")
        }
        if name == "guide":
            present.add("installation")
        present.discard(f"{folder}/index")
        entries = [d for d in order if d in present] + sorted(present - set(order))
        caption = {"guide": "Guides", "api": "API reference"}[name]
        body = "\n".join(entries)
        text = f"```{{toctree}}\n:caption: {caption}\n:maxdepth: 2\n{body}\n```\n"
        out = docs / "_generated" / f"{name}-toctree.md"
        out.parent.mkdir(exist_ok=True)
        out.write_text(text, encoding="utf-8")


_unreleased_notes()
_toctrees()
