"""Every ``python`` code block of the README, CONTRIBUTING.md and docs/ runs (issue 14).

The conventions (CONTRIBUTING.md, "Code examples are tests"):

- a block runs as a script (top-level ``await`` allowed) in a fresh namespace, with the example
  files importable;
- ``<!-- file: NAME.py -->`` on the line before makes the block the example file ``NAME.py``
  (shared by every document; two files of one name must be identical), imported on its own too;
- a block defining ``test_*`` functions is a test file, run by pytest in a fresh directory with
  an empty ``pytest.ini``, as a user would run it;
- ``<!-- fragment -->`` on the line before: only compiled.

The wheel tests (cibuildwheel, scripts/ci-wheels) copy tests/ without the documents: there is
nothing to run then, and this module is skipped.
"""

from __future__ import annotations

import ast
import asyncio
import importlib
import inspect
import os
import re
import shutil
import subprocess
import sys
import types
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if not (ROOT / "docs" / "conf.py").is_file():
    pytest.skip("the documents are not among these tests' sources", allow_module_level=True)

FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})(?P<info>[^`\n]*)$")
MARK = re.compile(r"^<!--\s*(?P<kind>file|fragment)\b:?\s*(?P<arg>[^>]*?)\s*-->$")
FLAGS = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
TIMEOUT = 60  # seconds for one example test file under pytest
# The frameworks' packages: requirements/test.txt installs them on Python 3.11+ (their current
# releases need it), requirements/frameworks.txt FastAPI and Litestar for scripts/test. An
# example importing one is skipped only where that package is not installed.
PEERS = {"starlette", "fastapi", "litestar", "httpx_ws", "asgiref"}


@dataclass(frozen=True)
class Block:
    """One fenced ``python`` block: where it is, its code, and its mark (if any)."""

    path: Path
    line: int
    code: str
    kind: str  # "run", "file", "fragment" or "test"
    name: str = ""  # the file name of a "file" block

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(ROOT).as_posix()}:{self.line}"


def documents() -> list[Path]:
    docs = sorted(
        p for p in (ROOT / "docs").rglob("*.md") if not {"_build", "_generated"} & set(p.parts)
    )
    return [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *docs]


def defines_tests(code: str) -> bool:
    tree = ast.parse(code)
    return any(
        isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_")
        for node in tree.body
    )


def blocks_of(path: Path) -> list[Block]:
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        info = match["info"].strip()
        end = i + 1
        while end < len(lines) and lines[end].strip() != match["fence"]:
            end += 1
        assert end < len(lines), f"{path}:{i + 1}: unclosed code fence."
        language = info.split()[0] if info else ""
        assert language not in {"py", "python3", "pycon", "ipython"}, (
            f"{path}:{i + 1}: write python blocks as ```python, so that they run."
        )
        if language == "python":
            indent = len(match["indent"])
            code = "\n".join(line[indent:] for line in lines[i + 1 : end]) + "\n"
            before = lines[i - 1].strip() if i else ""
            mark = MARK.match(before)
            if mark and mark["kind"] == "file":
                assert re.fullmatch(r"\w+\.py", mark["arg"]), f"{path}:{i}: bad file name."
                block = Block(path, i + 1, code, "file", mark["arg"])
            elif mark:
                block = Block(path, i + 1, code, "fragment")
            else:
                block = Block(path, i + 1, code, "test" if defines_tests(code) else "run")
            found.append(block)
        i = end + 1
    return found


BLOCKS = [block for path in documents() for block in blocks_of(path)]
FILES = [block for block in BLOCKS if block.kind == "file"]


@pytest.fixture(scope="module")
def example_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with every example file, importable while a test runs."""
    directory = tmp_path_factory.mktemp("examples")
    for block in FILES:
        target = directory / block.name
        if target.exists():
            assert target.read_text(encoding="utf-8") == block.code, (
                f"{block.id}: {block.name} differs from another document's {block.name}."
            )
        target.write_text(block.code, encoding="utf-8")
    return directory


@pytest.fixture
def importable(example_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(example_dir))
    monkeypatch.chdir(example_dir)
    names = {block.name[:-3] for block in FILES}
    yield example_dir
    for name in names:  # a fresh import for the next example (the hub is per module)
        sys.modules.pop(name, None)


def test_the_documents_have_examples() -> None:
    kinds = {block.kind for block in BLOCKS}
    assert {"run", "file", "test"} <= kinds, kinds
    readme = [block for block in BLOCKS if block.path.name == "README.md"]
    assert {block.kind for block in readme} >= {"file", "test", "run"}


def skip_without_peers(code: str) -> None:
    """Skip an example whose framework is not installed (Python 3.10, the wheel tests)."""
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            roots = {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            roots = {node.module.split(".")[0]}
        else:
            continue
        for root in sorted(roots & PEERS):
            pytest.importorskip(root, reason="requirements/test.txt installs it on Python 3.11+")


def run_script(code: str, name: str) -> None:
    """Run ``code`` as the body of a fresh module ``__example__`` (frameworks look it up)."""
    compiled = compile(code, name, "exec", flags=FLAGS)
    module = types.ModuleType("__example__")
    sys.modules["__example__"] = module
    try:
        result = eval(compiled, module.__dict__)
        if inspect.iscoroutine(result):
            asyncio.run(asyncio.wait_for(result, TIMEOUT))
    finally:
        del sys.modules["__example__"]


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.kind == "run"], ids=lambda b: b.id)
def test_example_runs(block: Block, importable: Path) -> None:
    skip_without_peers(block.code)
    run_script(block.code, block.id)


@pytest.mark.parametrize("block", FILES, ids=lambda b: f"{b.id}:{b.name}")
def test_example_file_imports(block: Block, importable: Path) -> None:
    skip_without_peers(block.code)
    module = importlib.import_module(block.name[:-3])
    assert module.__file__ is not None
    assert Path(module.__file__).read_text(encoding="utf-8") == block.code


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.kind == "test"], ids=lambda b: b.id)
def test_example_test_file_passes(block: Block, example_dir: Path, tmp_path: Path) -> None:
    """The test file runs under pytest as a user runs it: a fresh directory, no configuration."""
    skip_without_peers(block.code)
    for source in example_dir.iterdir():
        if source.suffix == ".py":
            shutil.copy(source, tmp_path / source.name)
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (tmp_path / "test_example.py").write_text(block.code, encoding="utf-8")
    path = os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path, "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rA", "test_example.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{block.id}:\n{output}"
    summary = result.stdout.strip().splitlines()[-1]
    assert re.search(r"\b\d+ passed\b", summary), output
    assert not re.search(r"skipped|xfail|deselected|warnings?\b", summary), output


def test_example_fragments_compile() -> None:
    """Fragments (none today) are at least valid Python."""
    for block in (b for b in BLOCKS if b.kind == "fragment"):
        compile(block.code, block.id, "exec", flags=FLAGS | ast.PyCF_ONLY_AST)


def test_the_conventions_are_applied() -> None:
    """A mark must sit right before a python block; one that does not would be ignored."""
    for path in documents():
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines):
            if MARK.match(line.strip()):
                following = lines[number + 1].strip() if number + 1 < len(lines) else ""
                assert following == "```python", f"{path}:{number + 1}: a mark without a block."
