"""docs/check_reference.py: the seed document's members and Raises, found or reported missing."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "docs" / "check_reference.py"
if not SCRIPT.is_file():
    pytest.skip("the documents are not among these tests' sources", allow_module_level=True)


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_reference", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


check = load()


def test_the_seed_is_read_whole() -> None:
    members = check.seed_members()
    ws = "genro_asgi.websocket.WebSocket"
    assert len(members) == 25
    assert members[f"{ws}.__init__"]["raises"] == ["ValueError"]
    assert members[f"{ws}.close"]["params"] == ["code=1000", "reason=''"]
    assert members[f"{ws}.send_bytes"]["raises"] == ["RuntimeError"]  # "...send.- Raises:"
    assert members[f"{ws}.receive_json"]["raises"] == [
        "RuntimeError",
        "TypeError",
        "json.JSONDecodeError",
        "WebSocketDisconnect",
    ]
    assert members["genro_asgi.websocket.WebSocketState.CONNECTED"]["value"] == ["1"]


def page(members: dict[str, dict[str, list[str]]], drop: str = "", without: str = "") -> str:
    """A reference page with every seed member, ``drop`` left out and ``without`` not raised."""
    parts = []
    for name, entry in members.items():
        if name == drop:
            continue
        params = ", ".join(entry["params"])
        value = f" = {entry['value'][0]}" if entry["value"] else ""
        raises = " ".join(f"{exc} – why." for exc in entry["raises"] if exc != without)
        parts.append(f'<dt id="{name}">{name}({params}){value}¶</dt><dd>Raises: {raises}</dd>')
    return "<html>" + "".join(parts) + "</html>"


@pytest.mark.parametrize(
    ("drop", "without", "expected"),
    [
        ("", "", []),
        (
            "genro_asgi.websocket.WebSocket.iter_text",
            "",
            ["genro_asgi.websocket.WebSocket.iter_text: missing from the reference page."],
        ),
        (
            "",
            "json.JSONDecodeError",
            [
                "genro_asgi.websocket.WebSocket.receive_json: 'Raises' does not list "
                "json.JSONDecodeError."
            ],
        ),
    ],
)
def test_missing_members_and_raises_are_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], drop: str, without: str, expected: list[str]
) -> None:
    (tmp_path / "api").mkdir()
    html = page(check.seed_members(), drop, without)
    (tmp_path / "api" / "websocket.html").write_text(html, encoding="utf-8")
    assert check.main(tmp_path) == (1 if expected else 0)
    lines = capsys.readouterr().out.splitlines()
    assert lines[:-1] == expected
    assert lines[-1].endswith(f"{len(expected)} problems")
