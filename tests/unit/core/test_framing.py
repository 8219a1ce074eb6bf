"""Framing: byte-counted Content-Length, malformed headers, resynchronisation, no double dispatch."""

from __future__ import annotations

import io

from splice.protocol.framing import FrameParser, FrameWriter, encode_message


def frames_of(data: bytes, chunk: int | None = None) -> list:
    parser = FrameParser()
    if chunk is None:
        return parser.feed(data)
    out = []
    for i in range(0, len(data), chunk):
        out.extend(parser.feed(data[i : i + chunk]))
    return out


def test_length_counts_utf8_bytes_not_characters() -> None:
    message = {"jsonrpc": "2.0", "method": "x", "params": {"text": "héllo 😀"}}
    data = encode_message(message)
    header, body = data.split(b"\r\n\r\n", 1)
    assert int(header.split(b":")[1]) == len(body)
    assert len(body) > len(body.decode("utf-8"))
    assert frames_of(data)[0].message == message


def test_messages_split_across_reads_byte_by_byte() -> None:
    messages = [{"id": i, "method": "m", "params": {"s": "é" * i}} for i in range(3)]
    data = b"".join(encode_message(m) for m in messages)
    assert [f.message for f in frames_of(data, chunk=1)] == messages


def test_content_type_header_is_accepted() -> None:
    body = b'{"id":1}'
    data = b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\nContent-Length: %d\r\n\r\n%s" % (
        len(body), body)
    frames = frames_of(data)
    assert [f.message for f in frames] == [{"id": 1}]
    assert all(f.error is None for f in frames)


def test_garbage_then_valid_message_resynchronises() -> None:
    data = b"this is not a header at all\r\n\r\n" + encode_message({"id": 7})
    frames = frames_of(data)
    assert frames[0].error is not None
    assert frames[-1].message == {"id": 7}


def test_malformed_length_does_not_redispatch_previous_message() -> None:
    data = encode_message({"id": 1}) + b"Content-Length: abc\r\n\r\n{}" + encode_message({"id": 2})
    frames = frames_of(data)
    messages = [f.message for f in frames if f.error is None]
    assert messages == [{"id": 1}, {"id": 2}]
    assert sum(1 for f in frames if f.error and "invalid Content-Length" in f.error) == 1


def test_too_long_length_gives_back_the_next_message() -> None:
    body = b'{"id":1}'
    data = b"Content-Length: %d\r\n\r\n%s" % (len(body) + 30, body) + encode_message({"id": 2, "method": "ok"})
    frames = frames_of(data)
    assert frames[0].error is not None and "cut short" in frames[0].error
    assert frames[1].message == {"id": 2, "method": "ok"}


def test_a_length_far_too_long_does_not_swallow_the_messages_after_it() -> None:
    # The client goes quiet after the next message: it must be served without waiting for more bytes.
    for chunk in (None, 1, 5):
        data = b"Content-Length: 900000\r\n\r\n{\"id\":1" + encode_message({"id": 2})
        frames = frames_of(data, chunk=chunk)
        assert [f.message for f in frames if f.error is None] == [{"id": 2}], chunk


def test_a_body_that_mentions_content_length_in_a_string_is_intact() -> None:
    message = {"id": 3, "params": {"text": "Content-Length: 12\r\n\r\nbody"}}
    assert [f.message for f in frames_of(encode_message(message), chunk=3)] == [message]


def test_too_short_length_reports_and_recovers() -> None:
    body = b'{"id":1,"method":"m"}'
    data = b"Content-Length: 5\r\n\r\n" + body + encode_message({"id": 3})
    frames = frames_of(data)
    assert frames[0].error is not None
    assert frames[-1].message == {"id": 3}


def test_invalid_json_body_is_an_error_frame() -> None:
    data = b"Content-Length: 3\r\n\r\n{x}" + encode_message({"id": 4})
    frames = frames_of(data)
    assert frames[0].error is not None and "JSON" in frames[0].error
    assert frames[1].message == {"id": 4}


def test_missing_content_length_header() -> None:
    data = b"Content-Type: text/plain\r\n\r\n{}" + encode_message({"id": 5})
    frames = frames_of(data)
    assert [f.message for f in frames if f.error is None] == [{"id": 5}]


def test_oversized_body_is_refused_without_waiting() -> None:
    parser = FrameParser(max_body_bytes=10)
    frames = parser.feed(b"Content-Length: 1000\r\n\r\n" + b"x" * 10)
    assert frames[0].error is not None and "exceeds" in frames[0].error


def test_writer_flushes_each_message_and_survives_closed_pipe() -> None:
    stream = io.BytesIO()
    writer = FrameWriter(stream)
    writer.write({"id": 1})
    assert FrameParser().feed(stream.getvalue())[0].message == {"id": 1}
    stream.close()
    writer.write({"id": 2})
    assert writer.closed


def test_header_block_without_blank_line_resynchronises_on_the_last_header() -> None:
    data = b"Content-Length: 12\r\n{not a body}" + encode_message({"id": 5})
    frames = frames_of(data)
    assert frames[0].error is not None
    assert [f.message for f in frames if f.error is None] == [{"id": 5}]


def test_length_one_too_long_without_padding_gives_back_a_cut_header() -> None:
    for chunk in (None, 1, 7):
        frames = frames_of(b"Content-Length: 3\r\n\r\n{}" + encode_message({"id": 6}), chunk=chunk)
        assert [f.message for f in frames if f.error is None] == [{"id": 6}], chunk


def test_a_content_length_of_thousands_of_digits_is_an_error_not_a_crash() -> None:
    frames = frames_of(b"Content-Length: " + b"9" * 5000 + b"\r\n\r\n" + encode_message({"id": 1}))
    assert "digits" in (frames[0].error or "")
    assert frames[-1].message == {"id": 1}


def test_huge_integers_and_deep_nesting_are_errors() -> None:
    body = b'{"id":1,"params":' + b"1" * 4301 + b"}"
    assert "usable JSON" in (frames_of(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))[0].error or "")
    for body in (b"[" * 982 + b"]" * 982, b'{"a":' * 100 + b"1" + b"}" * 100):
        assert "nests deeper" in (frames_of(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))[0].error or "")


def test_lone_surrogates_become_replacement_characters_except_in_the_id() -> None:
    body = b'{"id":"\\ud800","method":"\\udc00m","params":{"text":"a\\ud800b\\ud83d\\ude00","\\udfffk":["\\ud801"]}}'
    message = frames_of(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))[0].message
    assert message["id"] == "\ud800"
    assert message["method"] == "\ufffdm"
    assert message["params"] == {"text": "a\ufffdb\U0001f600", "\ufffdk": ["\ufffd"]}
    # Echoed back, the id travels as the same escape.
    assert b'"\\ud800"' in encode_message({"id": message["id"]})
