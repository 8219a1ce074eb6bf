"""The reference VS Code extension in a real VS Code: code-server from npm in headless Debian Chromium.

The extension is installed from the built ``.vsix`` into a fresh user-data directory, the extension gallery
points at a closed local port, and the browser may only reach loopback. A driver script
(``tests/e2e/vscode/browser.mjs``) stands in for the person's keys; these tests say what must happen on
screen, on disk and in the telemetry database. ``scripts/setup-vscode`` installs what they need; without
it they skip on a workstation and fail in CI (``CI`` set), so a CI run can never pass without them.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from splice.telemetry.events import text_hash

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).parent / "fixtures" / "inventory"
CACHE = Path(os.environ.get("SPLICE_CACHE", Path.home() / ".cache" / "splice"))
NODE = CACHE / "node-v24.22.3" / "bin" / "node"
CODE_SERVER = CACHE / "code-server-4.139.1" / "node_modules" / "code-server" / "out" / "node" / "entry.js"
VSIX = ROOT / "plugin-protocol" / "vscode" / "splice.vsix"
DRIVER = Path(__file__).parent / "vscode" / "browser.mjs"
CHROMIUM = Path("/usr/bin/chromium")
SPLICE = ROOT / ".venv" / "bin" / "splice"
EXTENSION_ID = "splice.splice"
FILE = "inventory/restock.py"
FOR_LINE = 10  # 1-based line of the `for` loop in inventory/restock.py; its body is indented by 8
NEW_LINE = FOR_LINE + 1
OTHER_FILE = "inventory/movements.py"
BODY_LINE = 15  # 1-based line of inventory/movements.py: the last function's empty last line, indented by 4


def _missing() -> list[str]:
    needed = {"Node 24": NODE, "code-server": CODE_SERVER, "the extension's .vsix": VSIX,
              "playwright-core": DRIVER.parent / "node_modules" / "playwright-core", "Debian chromium": CHROMIUM,
              "splice in .venv": SPLICE}
    return [name for name, path in needed.items() if not path.exists()]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(condition: Callable[[], Any], timeout: float, what: str, every: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


class Browser:
    """The driver process: one JSON command per line in, one JSON answer per line out."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen([str(NODE), str(DRIVER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     env=env, text=True, start_new_session=True)

    def __call__(self, name: str, **args: Any) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"name": name, "args": args}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, f"the browser driver exited during {name} (code {self.proc.poll()})"
        answer = json.loads(line)
        assert answer["ok"], f"{name} {args}: {answer['error']}"
        return answer["result"]

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self("close")
        _end_group(self.proc)


def _end_group(proc: subprocess.Popen[Any]) -> None:
    """End a process started in its own session, and everything it started, by its group id."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=15)


class VSCode:
    """A running code-server with the extension, its workspace, settings file and telemetry database."""

    def __init__(self, base: Path, server: Path = SPLICE) -> None:
        self.base = base
        self.workspace = base / "inventory"
        shutil.copytree(FIXTURE, self.workspace)
        self.data = base / "splice-data"
        self.user_data = base / "user-data"
        self.extensions = base / "extensions"
        self.settings_file = self.user_data / "User" / "settings.json"
        self.settings_file.parent.mkdir(parents=True)
        self.write_settings({})
        # A machine-scoped setting: in a remote window (code-server is one) it comes from the machine's settings.
        machine = self.user_data / "Machine" / "settings.json"
        machine.parent.mkdir(parents=True)
        machine.write_text(json.dumps({"splice.server.path": str(server)}))
        gallery = f"http://127.0.0.1:{_free_port()}"  # closed: nothing listens there
        self.env = {
            **os.environ, "PATH": f"{NODE.parent}:{os.environ['PATH']}",
            "XDG_DATA_HOME": str(base / "xdg-data"), "XDG_CONFIG_HOME": str(base / "xdg-config"),
            "XDG_CACHE_HOME": str(base / "xdg-cache"), "SPLICE_INDEX_DIR": str(base / "index"),
            "EXTENSIONS_GALLERY": json.dumps({"serviceUrl": f"{gallery}/api", "itemUrl": f"{gallery}/items"}),
        }
        for name in ("SPLICE_TRITON_URL", "SPLICE_ENGINE", "SPLICE_DATA_DIR", "SPLICE_TELEMETRY"):
            self.env.pop(name, None)
        self.port = _free_port()
        self.server: subprocess.Popen[Any] | None = None

    def write_settings(self, extra: dict[str, Any]) -> None:
        """The user settings: Splice's own, and quiet defaults so nothing else pops up over the editor."""
        settings = {
            "splice.dataDir": str(self.data),
            "workbench.startupEditor": "none", "workbench.tips.enabled": False, "telemetry.telemetryLevel": "off",
            # Each value in the form this VS Code keeps: one it migrates (``autoUpdate: false`` became "off")
            # is rewritten in place some seconds after start-up, and a key typed during that configuration
            # change asks for no suggestion.
            "extensions.autoCheckUpdates": False, "extensions.autoUpdate": "off", "update.mode": "none",
            "security.workspace.trust.enabled": False, "editor.inlineSuggest.enabled": True,
            # The completion list opens on Ctrl+Space only, so it never covers the ghost text under test.
            "editor.quickSuggestions": {"other": "off", "comments": "off", "strings": "off"},
            "editor.suggestOnTriggerCharacters": False, **extra,
        }
        self.settings_file.write_text(json.dumps(settings, indent=2))

    def code_server(self, *args: str) -> list[str]:
        return [str(NODE), str(CODE_SERVER), "--user-data-dir", str(self.user_data),
                "--extensions-dir", str(self.extensions), *args]

    def start(self) -> None:
        subprocess.run(self.code_server("--install-extension", str(VSIX)), env=self.env, check=True,
                       capture_output=True, timeout=120)
        config = self.base / "code-server.yaml"
        config.write_text("auth: none\n")
        self.server = subprocess.Popen(
            self.code_server("--auth", "none", "--bind-addr", f"127.0.0.1:{self.port}", "--config", str(config),
                             "--disable-telemetry", "--disable-update-check", "--disable-workspace-trust",
                             # The extension's shown, partial-accept and reject events use a proposed API.
                             "--reconnection-grace-time", "5", "--enable-proposed-api", EXTENSION_ID),
            env=self.env, stdin=subprocess.DEVNULL, stdout=(self.base / "code-server.log").open("w"),
            stderr=subprocess.STDOUT, start_new_session=True)
        _wait_for(self._healthy, 60, "code-server's /healthz")

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2) as reply:
                return reply.status == 200
        except OSError:
            return False

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/?folder={self.workspace}"

    def stop(self) -> None:
        if self.server is not None:
            _end_group(self.server)

    def splice_pids(self) -> list[int]:
        """The `splice serve` processes this code-server started (found by the environment it passed on)."""
        marker = f"XDG_DATA_HOME={self.base / 'xdg-data'}".encode()
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
                environ = (entry / "environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"serve" in cmdline and any(part.endswith(b"splice") for part in cmdline) and marker in environ:
                pids.append(int(entry.name))
        return pids

    def extension_log(self) -> str:
        """The extension's Output channel, as VS Code keeps it on disk."""
        return "".join(path.read_text(errors="replace")
                       for path in (self.user_data / "logs").glob("*/exthost*/splice.splice/Splice.log"))

    def wait_running(self) -> None:
        """Until the extension has a running server; keys typed before that ask nobody for a suggestion."""
        _wait_for(lambda: "the server is running" in self.extension_log(), 90, "the extension's server to run")

    def events(self, completion_id: str | None = None) -> list[dict[str, Any]]:
        path = self.data / "telemetry.db"
        if not path.exists():
            return []
        conn = sqlite3.connect(path)
        conn.row_factory = sqlite3.Row
        try:
            query = "SELECT * FROM events" + (" WHERE completion_id = ?" if completion_id else "") + " ORDER BY id"
            return [dict(row) for row in conn.execute(query, (completion_id,) if completion_id else ())]
        except sqlite3.OperationalError:  # the writer has not created the table yet
            return []
        finally:
            conn.close()


def _require_tools() -> None:
    missing = _missing()
    if missing:
        message = f"missing {', '.join(missing)}: run scripts/setup-vscode"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def test_the_extensions_unit_tests_pass() -> None:
    """The extension's own tests (status, settings, feedback wiring), on Node's test runner."""
    _require_tools()
    extension = ROOT / "plugin-protocol" / "vscode"
    env = {**os.environ, "PATH": f"{NODE.parent}:{os.environ['PATH']}"}
    done = subprocess.run(["npm", "test", "--silent"], cwd=extension, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "# fail 0" in done.stdout or "ℹ fail 0" in done.stdout, done.stdout[-2000:]


@pytest.fixture(scope="module")
def vscode(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[VSCode, Browser]]:
    _require_tools()
    base = tmp_path_factory.mktemp("vscode")
    code = VSCode(base)
    code.start()
    browser = Browser(code.env)
    try:
        browser("launch", profile=str(base / "chromium"), url=code.url(), executablePath=str(CHROMIUM))
        code.wait_running()
        yield code, browser
    finally:
        browser.close()
        code.stop()


@contextlib.contextmanager
def screenshot_on_failure(browser: Browser, tmp_path: Path) -> Iterator[None]:
    """Keep what the screen showed when an assertion failed, in pytest's directory for this test."""
    try:
        yield
    except BaseException:
        with contextlib.suppress(Exception):
            path = browser("screenshot", path=str(tmp_path / "failure.png"))
            print(f"screenshot of the failure: {path}")
        raise


def _fresh_line(browser: Browser, typed: str) -> dict[str, Any]:
    """Open a new line under the ``for`` (indented by VS Code), type ``typed`` there and await ghost text."""
    browser("openFile", path=FILE)
    browser("gotoLine", line=FOR_LINE)
    browser("press", key="End")
    browser("press", key="Enter")
    browser("type", text=typed)
    ghost: dict[str, Any] = browser("ghostText", timeout=30_000)
    return ghost


def _empty_line(browser: Browser, typed: str) -> dict[str, Any]:
    """Type ``typed`` on the empty last line of movements.py (nothing after the cursor), await ghost text."""
    browser("openFile", path=OTHER_FILE)
    browser("gotoLine", line=BODY_LINE)
    browser("press", key="End")
    browser("type", text=typed)
    ghost: dict[str, Any] = browser("ghostText", timeout=30_000)
    return ghost


def _clear_typed(browser: Browser) -> None:
    """Remove what was typed on the current line, keeping its indentation."""
    browser("press", key="Escape")
    browser("press", key="Home")
    browser("press", key="Shift+End")
    browser("press", key="Backspace")


def test_ghost_text_is_shown_accepted_with_tab_saved_and_recorded(
        vscode: tuple[VSCode, Browser], tmp_path: Path) -> None:
    code, browser = vscode
    with screenshot_on_failure(browser, tmp_path):
        browser("statusBar", contains="Splice", timeout=60_000)
        typed = "mess"
        ghost = _fresh_line(browser, typed)
        assert ghost["inline"].strip(), ghost

        browser("press", key="Tab")
        # The accept is reported by the item's command, which VS Code runs once the text is in: then save.
        accepted = _wait_for(lambda: [e for e in code.events() if e["kind"] == "accepted"], 10, "an accepted event")
        browser("press", key="Control+S")
        expected = " " * 8 + typed + ghost["inline"]
        with contextlib.suppress(AssertionError):
            _wait_for(lambda: _saved_line(code).startswith(expected), 10, "the saved file to hold the suggestion")
        line = _saved_line(code)
        assert line.startswith(expected), (line, ghost)

        assert len(accepted) == 1, accepted
        completion_id = accepted[0]["completion_id"]
        kinds = {e["kind"]: e for e in code.events(completion_id)}
        assert "shown" in kinds, kinds
        # Only a didShowCompletion from the editor gives the display a duration; an accept alone does not.
        assert kinds["shown"]["display_ms"] is not None, kinds["shown"]
        inserted = line[8:]  # the item's insert text starts at the word the person began typing, or after it
        candidates = {text_hash(inserted[start:]) for start in range(len(typed) + 1)}
        assert accepted[0]["text_hash"] in candidates, (accepted[0], line)
        assert accepted[0]["accepted_length"] == accepted[0]["length_chars"]
        # The server's stderr reached the Output channel as readable lines at their own level.
        log = code.extension_log()
        assert "[info] initialized root=" in log and "[error] initialized" not in log, log[-2000:]


def _saved_line(code: VSCode) -> str:
    lines = (code.workspace / FILE).read_text().splitlines()
    return lines[NEW_LINE - 1] if len(lines) >= NEW_LINE else ""


def test_ctrl_space_lists_splices_items(vscode: tuple[VSCode, Browser], tmp_path: Path) -> None:
    _code, browser = vscode
    with screenshot_on_failure(browser, tmp_path):
        _empty_line(browser, "ret")
        browser("press", key="Escape")
        browser("press", key="Control+Space")
        rows = browser("suggestions", timeout=30_000)
        # Splice's items are snippets whose detail names Splice; VS Code's own word items never say so.
        assert any("Splice" in row["text"] for row in rows), rows
        _clear_typed(browser)


def test_next_and_previous_suggestion_cycle_through_splices_alternatives(
        vscode: tuple[VSCode, Browser], tmp_path: Path) -> None:
    _code, browser = vscode
    with screenshot_on_failure(browser, tmp_path):
        first = _empty_line(browser, "ret")["inline"]
        browser("press", key="Alt+BracketRight")  # Show Next Inline Suggestion
        second = browser("otherGhostText", previous=first, timeout=30_000)
        browser("press", key="Alt+BracketLeft")  # Show Previous Inline Suggestion
        back = browser("otherGhostText", previous=second, timeout=30_000)
        assert len({first, second}) == 2 and back == first, (first, second, back)
        _clear_typed(browser)


def test_escape_is_a_rejection_and_a_word_accept_is_partial(vscode: tuple[VSCode, Browser], tmp_path: Path) -> None:
    code, browser = vscode
    with screenshot_on_failure(browser, tmp_path):
        seen = {e["id"] for e in code.events()}
        _empty_line(browser, "ret")
        browser("press", key="Escape")
        browser("noGhostText", timeout=10_000)
        # Stored as "explicit": the person dismissed it (typing past it would be "typing").
        _wait_for(lambda: [e for e in code.events()
                           if e["id"] not in seen and e["kind"] == "rejected" and e["reason"] == "explicit"],
                  10, "a rejection by the person")
        _clear_typed(browser)

        _empty_line(browser, "ret")
        browser("press", key="Control+ArrowRight")  # Accept Next Word Of Inline Suggestion
        partial = _wait_for(
            lambda: [e for e in code.events() if e["id"] not in seen and e["kind"] == "partially_accepted"], 10,
            "a partially accepted event")
        assert 0 < partial[0]["accepted_length"] < partial[0]["length_chars"], partial
        _clear_typed(browser)


def test_a_killed_server_is_restarted_and_suggestions_come_back(
        vscode: tuple[VSCode, Browser], tmp_path: Path) -> None:
    code, browser = vscode
    with screenshot_on_failure(browser, tmp_path):
        before = _wait_for(code.splice_pids, 30, "the running splice serve")
        assert len(before) == 1, before
        os.kill(before[0], signal.SIGKILL)
        after = _wait_for(lambda: [p for p in code.splice_pids() if p not in before], 60, "a restarted splice serve")
        assert len(after) == 1, after
        _wait_for(lambda: f"the server is running (pid {after[0]})" in code.extension_log(), 60,
                  "the extension to see the new server running")
        ghost = _empty_line(browser, "ret")
        assert ghost["inline"].strip(), ghost
        _clear_typed(browser)


def test_the_status_menu_disables_splice_for_the_language_and_enables_it_again(
        vscode: tuple[VSCode, Browser], tmp_path: Path) -> None:
    code, browser = vscode
    with screenshot_on_failure(browser, tmp_path):
        browser("openFile", path=OTHER_FILE)
        rows = " | ".join(browser("clickStatus", contains="Splice", timeout=10_000))
        for label in ("Disable Splice globally", "Disable Splice for python", "Disable Splice for this workspace",
                      "Restart the Splice server", "Show Splice logs", "Open Splice settings"):
            assert label in rows, rows
        browser("pick", label="Disable Splice for python", timeout=10_000)
        browser("statusBar", contains="Splice: off", timeout=10_000)
        settings = json.loads(code.settings_file.read_text())
        assert settings["[python]"] == {"splice.enable": False}, settings

        browser("clickStatus", contains="Splice", timeout=10_000)
        browser("pick", label="Enable Splice for python", timeout=10_000)
        _wait_for(lambda: json.loads(code.settings_file.read_text()).get("[python]", {}).get("splice.enable"), 10,
                  "Splice enabled for Python again")
        ghost = _empty_line(browser, "ret")  # suggestions come back at once
        assert ghost["inline"].strip(), ghost
        _clear_typed(browser)


def test_an_unreachable_triton_makes_the_status_bar_say_degraded(
        vscode: tuple[VSCode, Browser], tmp_path: Path) -> None:
    code, browser = vscode
    with screenshot_on_failure(browser, tmp_path):
        # Workspace settings, which VS Code watches with the workspace's files: a closed port for Triton.
        folder_settings = code.workspace / ".vscode" / "settings.json"
        folder_settings.parent.mkdir(exist_ok=True)
        folder_settings.write_text(json.dumps({"splice.tritonUrl": f"127.0.0.1:{_free_port()}"}))
        _wait_for(lambda: "settings sent to the server: tritonUrl, dataDir" in code.extension_log(), 30,
                  "the extension to send the changed settings")
        # The engine finds Triton gone when it is asked for a suggestion; the embedded engine answers.
        _empty_line(browser, "ret")
        entries = browser("statusBar", contains="degraded", timeout=60_000)
        _clear_typed(browser)
        assert any("Splice: degraded" in entry for entry in entries), entries



def test_a_server_that_keeps_failing_is_given_up_with_a_notification(tmp_path: Path) -> None:
    """A broken install: the extension restarts it with growing delays, then stops and offers the logs."""
    _require_tools()
    broken = tmp_path / "broken-splice"
    broken.write_text("#!/bin/sh\necho 'splice: broken install' >&2\nexit 3\n")
    broken.chmod(0o755)
    code = VSCode(tmp_path, server=broken)
    code.start()
    browser = Browser(code.env)
    try:
        with screenshot_on_failure(browser, tmp_path):
            browser("launch", profile=str(tmp_path / "chromium"), url=code.url(), executablePath=str(CHROMIUM))
            browser("statusBar", contains="Splice: failed", timeout=90_000)
            text = browser("notification", contains="Show logs", timeout=10_000)
            assert "Splice" in text, text
            log = code.extension_log()
            assert "splice: broken install" in log and "not restarting it" in log, log[-3000:]
    finally:
        browser.close()
        code.stop()
