"""Check the built ``genro_asgi.websocket`` reference against the seed document.

``docs/seed-websocket-api.txt`` is the original API document (itself Sphinx autodoc output, as
text). Every member it shows must be on the built page, with every parameter of its signature
(and its default) and every exception of its "Raises" field. The page may say more.

Usage: python docs/check_reference.py BUILD_DIR   (the html builder's output directory)
"""

from __future__ import annotations

import html
import re
import sys
from pathlib import Path

SEED = Path(__file__).with_name("seed-websocket-api.txt")
MODULE = "genro_asgi.websocket"
FIELDS = {"Raises:", "Parameters:", "Return type:", "Returns:", "Yields:", "Classes:"}
MEMBER = re.compile(
    r"^- (?:async |property |class )?(?:genro_asgi\.websocket\.)?"
    r"(?P<name>\w+)(?:\((?P<params>[^)]*)\))?(?P<rest>.*)$"
)


def seed_members() -> dict[str, dict[str, list[str]]]:
    """``{qualified name: {"params": [...], "raises": [...], "value": [...]}}`` from the seed."""
    members: dict[str, dict[str, list[str]]] = {}
    owner = current = None
    in_raises = False
    for raw in SEED.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("- ") and line[2:] in FIELDS:
            in_raises = line == "- Raises:"
            continue
        if line.endswith("- Raises:"):  # the text renders "... – Bytes to send.- Raises:"
            in_raises = True
            continue
        match = MEMBER.match(line)
        if match and not line.startswith("- Classes"):
            in_raises = False
            name = match["name"]
            if line.startswith("- class "):
                owner = name
                current = f"{MODULE}.{name}"
            elif owner is None:
                continue
            else:
                current = f"{MODULE}.{owner}.{name}"
            entry = members.setdefault(current, {"params": [], "raises": [], "value": []})
            if match["params"] and match["params"] != "*values":
                entry["params"] = [p.strip() for p in match["params"].split(",") if p.strip()]
            value = re.match(r"\s*=\s*(\S+)", match["rest"])
            if value:
                entry["value"] = [value[1]]
            continue
        if in_raises and current and " – " in line:
            members[current]["raises"].append(line.split(" – ", 1)[0].strip())
    return members


def sections(page: str) -> dict[str, str]:
    """The text of each documented object on the built page, by its id."""
    ids = [(m.start(), m[1]) for m in re.finditer(r'id="(genro_asgi\.[\w.]+)"', page)]
    text = {}
    for (start, name), (end, _) in zip(ids, [*ids[1:], (len(page), "")], strict=True):
        text[name] = html.unescape(re.sub(r"<[^>]+>", "", page[start:end]))
    return text


def main(build: Path) -> int:
    page = (build / "api" / "websocket.html").read_text(encoding="utf-8")
    found = sections(page)
    problems = []
    members = seed_members()
    for name, entry in members.items():
        if name not in found:
            problems.append(f"{name}: missing from the reference page.")
            continue
        text = found[name]
        signature = text.split("¶", 1)[0]
        for param in entry["params"]:
            key, _, default = param.partition("=")
            if not re.search(rf"\b{re.escape(key)}\b", signature):
                problems.append(f"{name}: parameter {key!r} is not in the signature.")
            if default and default.strip("'") not in signature:
                problems.append(f"{name}: the default {default} of {key!r} is not shown.")
        raises = text.split("Raises:", 1)[1] if "Raises:" in text else ""
        for exc in entry["raises"]:
            if not re.search(rf"(?<![\w.]){re.escape(exc)}\b", raises):
                problems.append(f"{name}: 'Raises' does not list {exc}.")
        for value in entry["value"]:
            if f"= {value}" not in signature:
                problems.append(f"{name}: the value {value} is not shown.")
    for problem in problems:
        print(problem)
    checked = sum(len(e["raises"]) for e in members.values())
    seed = f"{len(members)} members of the seed document, {checked} 'Raises' entries"
    print(f"reference check: {seed}, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
