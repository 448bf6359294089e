"""The chat demo in a real browser: Debian's headless Chromium driven by Playwright.

Starts examples/chat under uvicorn on a free 127.0.0.1 port (its lifespan runs the hub), opens
two tabs with two nicknames and checks what each one shows: the roster (``hub.presence()``),
lines, a typed bill, a bad amount's error, a taken nickname, a leave. Then the demo as two
workers: two uvicorn processes on two ports sharing one real ``redis-server`` (as ``uvicorn
--workers 2`` shares one socket between two processes, with the tabs landing on either), where a
tab on each sees the other's lines and roster, a nickname taken on one is refused on the other,
and killing Redis is a visible gap (1013 "missed messages") that both pages recover from.

A stalled tab is not shown here because Chromium does not let a test stall a page's socket:
freezing the tab's main thread (a 20 s busy loop) or DevTools network throttling
(``Network.emulateNetworkConditions``) both leave Chromium's network service reading the
socket, and it took 12,000 chat lines (about 7 MB) for the frozen tab without any
backpressure reaching the server, so the hub rightly saw a client that keeps up. The proof that
a stalled client cannot stall the room is ``e2e/test_fanout.py``, with a client that really
stops reading its socket. Needs ``/usr/bin/chromium`` (``apt-get install chromium``; never
``playwright install``) and requirements/browser.txt; ``scripts/ci-browser`` does all of it.
``CHROMIUM`` overrides the browser path, ``CHAT_SCREENSHOT`` where the screenshot goes.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHAT_DIR = ROOT / "examples" / "chat"
sys.path.insert(0, str(ROOT))
from tests.redis_server import RedisServer  # noqa: E402  (the tests' own redis-server)

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT = os.environ.get("CHAT_SCREENSHOT", "/tmp/genro-asgi-chat.png")
STEP_TIMEOUT_MS = 10_000  # any single browser action or expectation
SERVER_START_S = 20.0
RECONNECT_TIMEOUT_MS = 30_000  # the pages' backoff while Redis is down (at most 8 s a try)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def serve(env: dict[str, str] | None = None) -> Iterator[str]:
    """The demo under uvicorn on a free loopback port; stopped (its process group) afterwards."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "--app-dir", str(CHAT_DIR), "app:app"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    environ = {k: v for k, v in os.environ.items() if k != "GENRO_ASGI_REDIS_URL"}
    environ.update(env or {})
    with tempfile.TemporaryFile() as output:
        server = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True, env=environ
        )
        try:
            deadline = time.monotonic() + SERVER_START_S
            while True:
                if server.poll() is not None:
                    output.seek(0)
                    pytest.fail(f"uvicorn exited with {server.returncode}:\n{output.read()!r}")
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        pytest.fail(f"uvicorn did not listen on port {port} in {SERVER_START_S} s")
                    time.sleep(0.1)
            yield f"http://127.0.0.1:{port}/"
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=10)
        output.seek(0)
        log = output.read().decode(errors="replace")
    assert "Traceback" not in log, log


@pytest.fixture(scope="module")
def chat_url() -> Iterator[str]:
    """The demo on the memory backend: one process."""
    with serve() as url:
        yield url


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def two_workers(redis_server: RedisServer) -> Iterator[tuple[str, str]]:
    """The demo as two workers: two uvicorn processes, two ports, one Redis."""
    env = {"GENRO_ASGI_REDIS_URL": redis_server.url}
    with serve(env) as one, serve(env) as two:
        yield one, two


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: apt-get install chromium (or run scripts/ci-browser)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, timeout=30_000
        )
        yield chromium
        chromium.close()


def open_tab(browser: Browser, url: str, nick: str, errors: list[str]) -> Page:
    page = browser.new_page(viewport={"width": 1100, "height": 720})
    page.set_default_timeout(STEP_TIMEOUT_MS)
    page.on("pageerror", lambda exc: errors.append(f"{nick}: {exc}"))
    page.on(
        "console",
        lambda msg: errors.append(f"{nick}: {msg.text}") if msg.type == "error" else None,
    )
    page.goto(url)
    expect(page).to_have_title("genro-asgi chat")
    page.fill("#nick", nick)
    page.click("#join")
    expect(page.locator("#status")).to_have_text(f"connected as {nick}")
    return page


def test_two_tabs_chat_with_typed_bill(browser: Browser, chat_url: str) -> None:
    errors: list[str] = []
    alice = open_tab(browser, chat_url, "alice", errors)
    expect(alice.locator("#log li.join").last).to_contain_text("alice joined the room")
    bob = open_tab(browser, chat_url, "bob", errors)

    # the join notice and the roster reach the first tab
    expect(alice.locator("#log li.join").last).to_contain_text("bob joined the room")
    expect(alice.locator("#users li")).to_have_text(["alice", "bob"])
    expect(bob.locator("#users li")).to_have_text(["alice", "bob"])

    # a chat line typed in one tab shows in the other
    alice.fill("#text", "hello from alice")
    alice.click("#send")
    expect(bob.locator("#log li.say").last).to_contain_text("alice: hello from alice")
    expect(alice.locator("#log li.say").last).to_contain_text("alice: hello from alice")

    # a typed bill: sent as TYTX by bob's page, decoded with its types by alice's page
    bob.fill("#amount", "12.50")
    bob.fill("#due", "2025-01-02")
    bob.click("#bill")
    bill = alice.locator("#log li.bill").last
    expect(bill).to_contain_text("bob split a bill of")
    decimals = bill.locator('.typed[data-type="Decimal"]')
    expect(decimals.locator(".value")).to_have_text(["12.50", "6.25"])
    expect(decimals.locator(".badge")).to_have_text(["Decimal", "Decimal"])
    due = bill.locator('.typed[data-type="date"]')
    expect(due.locator(".value")).to_have_text("2025-01-02")
    expect(due.locator(".badge")).to_have_text("date")
    expect(bill.locator('.typed[data-type="datetime"] .badge')).to_have_text("datetime")
    wire = bill.locator("details code")
    expect(wire).to_have_text(re.compile(r'^\{"type":"bill",.*\}::JS$'))
    assert '"amount":"12.50::N"' in wire.text_content()  # type: ignore[operator]
    expect(bob.locator("#log li.bill .typed .value").first).to_have_text("12.50")

    # a bad amount is answered with a sentence that names it, not Python internals
    bob.fill("#amount", "12,5x")
    bob.fill("#due", "2025-01-02")
    bob.click("#bill")
    error = bob.locator("#log li.error").last
    expect(error).to_contain_text("unreadable message: 'amount' is not a valid decimal number")
    assert "<class" not in (error.text_content() or "")
    expect(alice.locator("#log li.error")).to_have_count(0)  # only the sender is told

    # a nickname already in the room is refused with the server's close code and reason
    again = browser.new_page()
    again.set_default_timeout(STEP_TIMEOUT_MS)
    again.goto(chat_url)
    again.fill("#nick", "alice")
    again.click("#join")
    expect(again.locator("#status")).to_have_text("disconnected (code 4009: nickname taken)")
    expect(again.locator("#log li.error")).to_contain_text("the nickname 'alice' is taken")
    again.close()

    bill.locator("summary").click()  # show the wire frame in the screenshot
    expect(bill.locator("summary")).to_contain_text("wire frame")
    expect(bill).to_contain_text("among 2 people")
    alice.screenshot(path=SCREENSHOT, full_page=True)

    # closing a tab is a leave notice for the others
    bob.close()
    expect(alice.locator("#log li.leave").last).to_contain_text("bob left the room")
    expect(alice.locator("#users li")).to_have_text(["alice"])
    alice.close()
    assert errors == []


def test_two_tabs_on_two_workers_share_the_room_and_recover_a_gap(
    browser: Browser, two_workers: tuple[str, str], redis_server: RedisServer
) -> None:
    one, two = two_workers
    errors: list[str] = []
    alice = open_tab(browser, one, "alice", errors)
    expect(alice.locator("#users li")).to_have_text(["alice"])
    bob = open_tab(browser, two, "bob", errors)  # on the other worker

    # roster and lines span the workers
    expect(bob.locator("#users li")).to_have_text(["alice", "bob"])
    expect(alice.locator("#users li")).to_have_text(["alice", "bob"])
    expect(alice.locator("#log li.join").last).to_contain_text("bob joined the room")
    alice.fill("#text", "hello from worker one")
    alice.click("#send")
    expect(bob.locator("#log li.say").last).to_contain_text("alice: hello from worker one")
    bob.fill("#text", "hello from worker two")
    bob.click("#send")
    expect(alice.locator("#log li.say").last).to_contain_text("bob: hello from worker two")

    # a nickname held on one worker is refused on the other (Redis SET NX)
    again = browser.new_page()
    again.set_default_timeout(STEP_TIMEOUT_MS)
    again.goto(two)
    again.fill("#nick", "alice")
    again.click("#join")
    expect(again.locator("#status")).to_have_text("disconnected (code 4009: nickname taken)")
    again.close()

    # Redis lost: a gap, shown on both pages (never silent), then recovered once it is back
    redis_server.kill()
    for page in (alice, bob):
        expect(page.locator("#notice")).to_contain_text("connection lost (code 1013")
        expect(page.locator("#log li.notice").first).to_contain_text("missed messages")
        expect(page.locator("#users li")).to_have_count(0)
    time.sleep(1.0)  # the pages retry meanwhile (1013 "room unreachable"), with backoff
    redis_server.start()
    for page, nick in ((alice, "alice"), (bob, "bob")):
        # (a first try may be let in and closed again with 1013 "room unreachable" when the
        # first publish after the restart fails: the page then simply tries once more)
        reconnected = page.locator("#log li.notice", has_text="reconnected")
        expect(reconnected.first).to_be_visible(timeout=RECONNECT_TIMEOUT_MS)
        status = page.locator("#status")
        expect(status).to_have_text(f"connected as {nick}", timeout=RECONNECT_TIMEOUT_MS)
    # the roster is resynced from both workers' presence (the last join carries it)
    for page in (alice, bob):
        expect(page.locator("#users li")).to_have_text(["alice", "bob"])
        expect(page.locator("#notice")).to_be_hidden()
    bob.fill("#text", "back again")
    bob.click("#send")
    expect(alice.locator("#log li.say").last).to_contain_text("bob: back again")
    alice.screenshot(path=SCREENSHOT.replace(".png", "-workers.png"), full_page=True)
    bob.close()
    expect(alice.locator("#log li.leave").last).to_contain_text("bob left the room")
    alice.close()
    assert errors == []
