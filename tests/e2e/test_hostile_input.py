"""Hostile input against the real `splice serve` over real pipes: no frame, id, method name or document may
end the process, lose the next valid message or go unanswered; stdout carries only frames throughout.

Each case is the smallest input that once showed a failure of its kind; after it, a valid request must
still get its correct answer.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from rawpipe import RawServer, frame, message_frame

DOC_URI = "file:///w/a.py"
DOC = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n"


def request(method: str, params: Any, request_id: Any = 99) -> bytes:
    return message_frame({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})


def assert_still_serving(server: RawServer) -> None:
    """The process lives and answers a valid completion request with a result."""
    server.open(DOC_URI, DOC)
    reply = server.inline(DOC_URI, 6, 0)
    assert "result" in reply, reply
    assert server.alive()


# Frames that ended the process, sent before ``initialize`` (None) or after it (True).
CRASHERS: dict[str, tuple[bool, bytes]] = {
    "content_length_of_5000_digits": (False, b"Content-Length: " + b"9" * 5000 + b"\r\n\r\n{}"),
    "integer_of_4301_digits": (True, frame(b'{"jsonrpc":"2.0","id":1,"method":"x","params":{"a":'
                                           + b"1" * 4301 + b"}}")),
    "nested_982_deep": (False, frame(b"[" * 982 + b"]" * 982)),
    "nested_object_deep": (True, frame(b'{"jsonrpc":"2.0","id":5,"method":"textDocument/completion","params":'
                                       + b'{"a":' * 3000 + b"1" + b"}" * 3000 + b"}")),
    "id_is_a_list": (True, frame(b'{"jsonrpc":"2.0","id":[1],"method":"textDocument/inlineCompletion",'
                                 b'"params":{}}')),
    "id_is_an_object": (True, frame(b'{"jsonrpc":"2.0","id":{"a":1},"method":"textDocument/completion",'
                                    b'"params":{}}')),
    "cancel_with_a_list_id": (True, frame(b'{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":[]}}')),
    "response_with_an_object_id": (True, frame(b'{"jsonrpc":"2.0","id":{},"result":null}')),
    "response_with_a_list_id_and_error": (True, frame(b'{"jsonrpc":"2.0","id":[],"error":"x"}')),
    "text_document_null": (True, request("textDocument/completion",
                                         {"textDocument": None, "position": {"line": 0, "character": 0}})),
    "text_document_string": (True, request("textDocument/completion",
                                           {"textDocument": "x", "position": {"line": 0, "character": 0}})),
    "text_document_number": (True, request("textDocument/inlineCompletion",
                                           {"textDocument": 3, "position": {"line": 0, "character": 0}})),
    "text_document_list": (True, request("textDocument/completion",
                                         {"textDocument": [], "position": {"line": 0, "character": 0}})),
    "lone_surrogate_method": (True, frame(b'{"jsonrpc":"2.0","id":7,"method":"\\ud800"}')),
    "lone_surrogate_id": (True, frame(b'{"jsonrpc":"2.0","id":"\\ud800","method":"nope"}')),
    "lone_surrogate_in_params": (True, frame(b'{"jsonrpc":"2.0","id":8,"method":"textDocument/completion",'
                                             b'"params":{"textDocument":{"uri":"\\udfff"},'
                                             b'"position":{"line":0,"character":0}}}')),
    "params_a_string_in_a_notification": (True, frame(b'{"jsonrpc":"2.0","method":"textDocument/didOpen",'
                                                      b'"params":"x"}')),
    "jsonrpc_field_wrong": (True, frame(b'{"jsonrpc":1,"id":3,"method":"shutdown"}')),
    "boolean_id": (True, frame(b'{"jsonrpc":"2.0","id":true,"method":"textDocument/completion","params":{}}')),
}


@pytest.mark.parametrize("name", sorted(CRASHERS))
def test_one_hostile_frame_never_ends_the_server(name: str) -> None:
    after_initialize, data = CRASHERS[name]
    with RawServer() as server:
        if not after_initialize:
            server.write(data)
            server.initialize()
        else:
            server.initialize()
            server.write(data)
        assert_still_serving(server)
        assert server.close() == 0


def test_an_unhashable_id_is_answered_as_an_invalid_request_with_a_null_id() -> None:
    with RawServer() as server:
        server.initialize()
        server.write(frame(b'{"jsonrpc":"2.0","id":[1],"method":"textDocument/inlineCompletion","params":{}}'))
        reply = server.reply_to(None)
        assert reply["error"]["code"] == -32600
        assert "id" in reply["error"]["message"]


def test_a_lone_surrogate_id_gets_its_answer_with_the_same_id() -> None:
    with RawServer() as server:
        server.initialize()
        server.write(frame(b'{"jsonrpc":"2.0","id":"\\ud800x","method":"no/such"}'))
        reply = server.reply_to("\ud800x")
        assert reply["error"]["code"] == -32601


def test_cancel_request_sent_as_a_request_is_answered_method_not_found() -> None:
    with RawServer() as server:
        server.initialize()
        reply = server.call("$/cancelRequest", {"id": 1})
        assert reply["error"]["code"] == -32601
        reply = server.call("$/setTrace", {"value": "off"})
        assert reply["error"]["code"] == -32601


def test_a_malformed_notification_gets_no_response() -> None:
    with RawServer() as server:
        server.initialize()
        server.write(frame(b'{"jsonrpc":"2.0","method":"textDocument/didOpen","params":"x"}'))
        server.write(frame(b'{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"textDocument":7}}'))
        server.write(frame(b'{"jsonrpc":"2.0","method":"$/unknownThing","params":{}}'))
        assert_still_serving(server)
        responses = [m for m in server.seen if "method" not in m and m.get("id") is None]
        assert responses == [], responses


@pytest.mark.parametrize("garbage", [
    b"Content-Length: 12\r\n{not a body}",  # a header block with no blank line
    b"junk junk Content-Length: zz\r\n\r\n",  # junk ending in an invalid Content-Length
    b"Content-Length: 3\r\n\r\n{}",  # a Content-Length one too long, with no padding
    b"Content-Length: 1\r\nContent-Length: 9",  # two headers and no blank line
])
def test_the_valid_frame_after_garbage_is_served(garbage: bytes) -> None:
    with RawServer() as server:
        server.initialize()
        server.write(garbage + request("textDocument/inlineCompletion",
                                       {"textDocument": {"uri": "file:///nowhere.py"},
                                        "position": {"line": 0, "character": 0}}, request_id=41))
        reply = server.reply_to(41)
        assert reply["error"]["code"] == -32602  # answered: the document is not open
        assert_still_serving(server)


def test_a_failed_work_done_progress_create_does_not_end_the_server(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text("def f():\n    return 1\n")
    (tmp_path / ".git").mkdir()
    with RawServer(env={"SPLICE_INDEX_DIR": str(tmp_path / "index")}) as server:
        server.initialize(root=tmp_path, capabilities={"window": {"workDoneProgress": True}})
        deadline = time.monotonic() + 30
        create = None
        while create is None and time.monotonic() < deadline:
            m = server.next_message(30)
            if m.get("method") == "window/workDoneProgress/create":
                create = m
        assert create is not None
        server.send({"jsonrpc": "2.0", "id": create["id"], "error": "boom"})
        assert_still_serving(server)


def test_a_document_with_a_lone_surrogate_completes_and_is_indexed(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "other.py").write_text("def total(items):\n    return sum(items)\n")
    text = 'LABEL = "\\ud800"\n\ndef total(items):\n    return sum(items)\n\n\ndef grand(items):\n    \n'
    body = {"jsonrpc": "2.0", "method": "textDocument/didOpen",
            "params": {"textDocument": {"uri": (tmp_path / "a.py").as_uri(), "languageId": "\\ud800",
                                        "version": 1, "text": "@TEXT@"}}}
    raw = json.dumps(body).replace('"@TEXT@"', json.dumps(text).replace("\\\\ud800", "\\ud800"))
    with RawServer(env={"SPLICE_INDEX_DIR": str(tmp_path / "index")}) as server:
        server.initialize(root=tmp_path)
        server.write(frame(raw.replace("\\\\ud800", "\\ud800").encode()))
        reply = server.inline((tmp_path / "a.py").as_uri(), 7, 4)
        assert "result" in reply, reply
        server.write(message_frame({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
            "textDocument": {"uri": (tmp_path / "a.py").as_uri(), "version": 2},
            "contentChanges": [{"range": {"start": {"line": 0, "character": 9},
                                          "end": {"line": 0, "character": 9}}, "text": "\udc00"}]}}))
        reply = server.inline((tmp_path / "a.py").as_uri(), 7, 4)
        assert "result" in reply, reply
        assert "retrieval.update_failed" not in server.stderr()
        assert server.close() == 0


def test_stdio_and_client_process_id_arguments_are_accepted() -> None:
    with RawServer(args=("--stdio", "--clientProcessId=1")) as server:
        server.initialize()
        assert_still_serving(server)
        assert server.close() == 0


def test_a_completion_menu_accept_reaches_the_telemetry_database(tmp_path: Path) -> None:
    # Editors without inline suggestions (Neovim, Emacs, Helix) pick a completion item; its command is how
    # the accept gets back to Splice.
    sample = Path(__file__).parent / "fixtures" / "inventory"
    doc = sample / "inventory" / "restock.py"
    with RawServer(env={"SPLICE_DATA_DIR": str(tmp_path), "SPLICE_INDEX_DIR": str(tmp_path / "index")}) as server:
        reply = server.initialize(root=sample)
        capabilities = reply["result"]["capabilities"]
        assert " " not in capabilities["completionProvider"]["triggerCharacters"]
        command_name = capabilities["executeCommandProvider"]["commands"][0]
        server.open(doc.as_uri(), doc.read_text())
        items: list[dict[str, Any]] = []
        deadline = time.monotonic() + 30
        while not items and time.monotonic() < deadline:  # the workspace index may still be building
            reply = server.call("textDocument/completion", {"textDocument": {"uri": doc.as_uri()},
                                                            "position": {"line": 10, "character": 8}})
            items = reply["result"]["items"]
        assert items and all(item["kind"] != 1 for item in items)  # not Text
        command = items[0]["command"]
        assert command["command"] == command_name
        picked = server.call("workspace/executeCommand", {"command": command["command"],
                                                          "arguments": command["arguments"]})
        assert picked.get("result", "missing") is None, picked
        unknown = server.call("workspace/executeCommand", {"command": "rm -rf", "arguments": []})
        assert unknown["error"]["code"] == -32602
        assert server.close() == 0
    conn = sqlite3.connect(tmp_path / "telemetry.db")
    rows = conn.execute("SELECT kind, accepted_length FROM events WHERE completion_id = ? ORDER BY id",
                        (items[0]["data"]["completionId"],)).fetchall()
    conn.close()
    assert ("accepted", len(items[0]["textEdit"]["newText"])) in rows, rows
