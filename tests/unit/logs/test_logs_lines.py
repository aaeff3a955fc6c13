import json

from hypothesis import given
from hypothesis import strategies as st

from guestinit.logs.format import LineFormat, check_template
from guestinit.logs.lines import LineSplitter


def test_lines_split_across_chunks_and_partials_wait() -> None:
    splitter = LineSplitter()
    assert splitter.feed(b"one\ntw", 1.0) == [b"one"]
    assert splitter.partial_since == 1.0
    assert splitter.feed(b"o\r\nthree", 2.0) == [b"two"]
    assert splitter.partial_since == 1.0, "the partial line kept its start time"
    assert splitter.flush() == [b"three"]
    assert splitter.partial_since is None and splitter.flush() == []


def test_long_lines_are_cut() -> None:
    splitter = LineSplitter(max_line=4)
    assert splitter.feed(b"abcdefghij\nxy", 0.0) == [b"abcd", b"efgh", b"ij"]
    assert splitter.feed(b"zzzzzz", 0.0) == [b"xyzz"]


@given(st.lists(st.binary(max_size=50), max_size=20))
def test_joined_output_is_preserved(chunks: list[bytes]) -> None:
    splitter = LineSplitter(max_line=1000)
    lines: list[bytes] = []
    for chunk in chunks:
        lines += splitter.feed(chunk, 0.0)
    lines += splitter.flush()
    raw = b"".join(chunks).split(b"\n")
    if raw[-1] == b"":
        raw.pop()  # the text ended with a newline: no partial line is left
    expected = [line.rstrip(b"\r") for line in raw]
    assert lines == expected


def test_formats() -> None:
    assert LineFormat().render("ssh", 12, "Server listening") == b"ssh[12]: Server listening\n"
    assert LineFormat().render("demo", None, "hi") == b"demo: hi\n"
    assert LineFormat("plain").render("ssh", 12, "x") == b"x\n"
    record = json.loads(LineFormat("json").render("ssh", 12, "x", priority=30, when=0.5))
    assert record == {"time": "1970-01-01T00:00:00.500Z", "unit": "ssh", "pid": 12,
                      "stream": "stdout", "priority": 30, "message": "x"}  # fmt: skip
    assert LineFormat("{unit}|{message}").render("a", 1, "b") == b"a|b\n"
    assert check_template("{nope}") and check_template("{unit} {message}") is None
