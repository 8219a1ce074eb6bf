"""Neovim's own LSP client against the real `splice serve`: the configuration in `docs/editors.md` is run
as written, a person's keys ask for a completion, pick the first item and save, and the accept must reach
the telemetry database.

The documented block is the configuration under test, so the page cannot drift from what works. Neovim
runs headless; a small driver script stands in for the person and writes what it saw to a JSON file.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).parent / "fixtures" / "inventory"
LOOP_BODY = 10  # 0-based line of the empty loop body in inventory/restock.py, indented by 8

# Stands in for the person: open the file, wait for the server, type <C-x><C-o>, take the first item
# with <C-y>, save, and stop the server so its telemetry is written before Neovim exits. Keys are only
# read by the main loop, so each step after typing is a condition polled on a timer, never a vim.wait.
DRIVER = r"""
local seen = { status = "started", offered = {}, accepted = vim.NIL, executed = vim.NIL }
local function finish(status)
  seen.status = status
  local out = assert(io.open(vim.env.SPLICE_NVIM_REPORT, "w"))
  out:write(vim.fn.json_encode(seen))
  out:close()
  for _, client in pairs(vim.lsp.get_active_clients()) do
    client.stop()
    vim.wait(10000, function() return client.is_stopped() end, 20)
  end
  vim.cmd("qall!")
end

local function splice()
  for _, client in pairs(vim.lsp.buf_get_clients(0)) do
    if client.name == "splice" and client.initialized then return client end
  end
end

vim.o.completeopt = "menu,menuone"
vim.cmd("edit inventory/restock.py")
if not vim.wait(30000, function() return splice() ~= nil end, 20) then return finish("no client") end

-- The workspace index may still be building; the first suggestions wait for it.
local params = { textDocument = { uri = vim.uri_from_bufnr(0) },
                 position = { line = LOOP_BODY, character = 8 } }
local ready = vim.wait(30000, function()
  local reply = splice().request_sync("textDocument/completion", params, 5000, 0)
  local result = reply and reply.result
  return result ~= nil and #(result.items or result) > 0
end, 100)
if not ready then return finish("nothing to offer") end

vim.lsp.handlers["workspace/executeCommand"] = function(err, result, ctx)
  seen.executed = { params = ctx.params, error = err or vim.NIL }
end
vim.api.nvim_create_autocmd("CompleteDone", { buffer = 0, callback = function()
  seen.accepted = vim.v.completed_item
end })

local function keys(text)
  vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes(text, true, false, true), "t", false)
end

vim.api.nvim_win_set_cursor(0, { LOOP_BODY + 1, 0 })
keys("A<C-x><C-o>")
local deadline = vim.loop.now() + 30000
local timer = vim.loop.new_timer()
timer:start(20, 20, vim.schedule_wrap(function()
  if timer:is_closing() then return end
  if seen.status == "started" and vim.fn.pumvisible() == 1 then
    seen.status = "menu"
    seen.offered = vim.fn.complete_info({ "items" }).items
    keys("<C-y><Esc>")
  elseif seen.status == "menu" and seen.executed ~= vim.NIL and vim.fn.mode() == "n" then
    timer:close()
    vim.cmd("write")
    finish("accepted")
  elseif vim.loop.now() > deadline then
    timer:close()
    finish("timed out at " .. seen.status)
  end
end))
"""


def documented_config(cmd: list[str]) -> str:
    """The Neovim block of docs/editors.md, with the server command replaced by this interpreter's."""
    page = (ROOT / "docs" / "editors.md").read_text()
    section = page.split("## Neovim", 1)[1]
    block = re.search(r"```lua\n(.*?)```", section, re.DOTALL)
    assert block, "docs/editors.md has no Lua block under its Neovim heading"
    default = 'local splice_cmd = { "splice", "serve" }'
    assert default in block.group(1)
    lua_cmd = "{ " + ", ".join(json.dumps(part) for part in cmd) + " }"
    return block.group(1).replace(default, f"local splice_cmd = {lua_cmd}")


@pytest.mark.skipif(shutil.which("nvim") is None, reason="Neovim (nvim) is not on PATH")
def test_neovim_picks_a_suggestion_from_the_menu_and_the_accept_is_recorded(tmp_path: Path) -> None:
    workspace = tmp_path / "inventory"
    shutil.copytree(FIXTURE, workspace)
    config = tmp_path / "init.lua"
    config.write_text(documented_config([sys.executable, "-m", "splice", "serve"]))
    driver = tmp_path / "driver.lua"
    driver.write_text(DRIVER.replace("LOOP_BODY", str(LOOP_BODY)))
    report = tmp_path / "report.json"
    env = {**os.environ, "SPLICE_DATA_DIR": str(tmp_path / "data"), "SPLICE_INDEX_DIR": str(tmp_path / "index"),
           "SPLICE_NVIM_REPORT": str(report)}

    done = subprocess.run(["nvim", "--headless", "--clean", "-u", str(config), "-c", f"luafile {driver}"],
                          cwd=workspace, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=120,
                          check=False)

    assert report.exists(), done.stderr.decode(errors="replace")
    seen = json.loads(report.read_text())
    assert seen["status"] == "accepted", seen
    assert seen["offered"], seen
    item = seen["offered"][0]["user_data"]["nvim"]["lsp"]["completion_item"]
    assert seen["accepted"]["word"] == seen["offered"][0]["word"]
    assert seen["executed"]["error"] is None, seen["executed"]
    new_text = item["textEdit"]["newText"]
    saved = (workspace / "inventory" / "restock.py").read_text().splitlines()
    assert saved[LOOP_BODY] == " " * 8 + new_text
    conn = sqlite3.connect(tmp_path / "data" / "telemetry.db")
    rows = conn.execute("SELECT kind, accepted_length FROM events WHERE completion_id = ? ORDER BY id",
                        (item["data"]["completionId"],)).fetchall()
    conn.close()
    assert ("accepted", len(new_text)) in rows, rows
