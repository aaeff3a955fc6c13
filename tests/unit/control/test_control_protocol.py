"""The control protocol: requests and responses on the wire, validation, framing."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from guestinit.control.protocol import (
    ARGS,
    MAX_ID,
    MAX_LINE,
    Kind,
    LineBuffer,
    ProtocolError,
    Request,
    Response,
    Verb,
    build_request,
    decode_request,
    decode_response,
    encode_request,
    encode_response,
)

EXAMPLE_ARGS: dict[Kind, object] = {
    Kind.UNITS: ["sshd.service", "getty@tty1.service"],
    Kind.UNIT_LIST: ["cron.service"],
    Kind.PATTERNS: ["ssh*", "cron.[st]*"],
    Kind.PROPERTIES: ["MainPID", "ActiveState"],
    Kind.BOOL: True,
    Kind.SIGNAL: 9,
    Kind.WHOM: "main",
    Kind.CODE: 3,
    Kind.LINES: 20,
    Kind.CURSOR: 7,
    Kind.TIME: 1700000000.5,
}


def request(verb: str, **args: object) -> Request:
    built = build_request(1, verb, args)
    assert isinstance(built, Request), built
    return built


def error_of(line: bytes) -> ProtocolError:
    decoded = decode_request(line)
    assert isinstance(decoded, ProtocolError), decoded
    return decoded


def line(message: object) -> bytes:
    return json.dumps(message).encode()


@pytest.mark.parametrize("verb", list(Verb))
def test_every_verb_round_trips_with_every_argument(verb: Verb) -> None:
    args = {name: EXAMPLE_ARGS[kind] for name, kind in ARGS[verb].items()}
    built = build_request(42, verb, args)
    assert isinstance(built, Request)
    encoded = encode_request(built)
    assert encoded.endswith(b"\n") and encoded.count(b"\n") == 1
    assert decode_request(encoded.rstrip(b"\n")) == built
    assert built.verb is verb and built.args == args


def test_missing_optional_arguments_take_their_defaults() -> None:
    kill = request("kill", units=["a.service"])
    assert kill.args == {"units": ["a.service"], "signal": 15, "whom": "all"}
    assert (kill.signal, kill.whom, kill.units) == (15, "all", ["a.service"])
    assert request("status").units == []
    assert request("list-units").all is False and request("list-units").patterns == []
    assert request("exit").code == 0
    assert request("start", units=["a.service"]).no_block is False
    show = request("show", properties=["MainPID"])
    assert (show.units, show.properties, show.all) == ([], ["MainPID"], False)


def test_args_may_be_omitted_on_the_wire() -> None:
    assert decode_request(b'{"id": 3, "verb": "health"}') == Request(3, Verb.HEALTH, {})


def test_accessors_give_defaults_for_arguments_a_verb_does_not_have() -> None:
    health = request("health")
    assert (health.units, health.signal, health.whom, health.code) == ([], 15, "all", 0)
    assert (health.all, health.no_block, health.patterns, health.properties) == (
        False,
        False,
        [],
        [],
    )


def test_values_are_immutable_and_compare_by_value() -> None:
    first, second = request("health"), request("health")
    assert first == second and first != Response.success(1)
    with pytest.raises(AttributeError):
        first.id = 2
    assert "Request(id=1, verb=<Verb.HEALTH: 'health'>" in repr(first)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ({"id": 1, "verb": "frobnicate"}, "unknown verb 'frobnicate'"),
        ({"id": 1, "verb": "start"}, "start: missing argument 'units'"),
        ({"id": 1, "verb": "start", "args": {"units": []}}, "start: units must be"),
        ({"id": 1, "verb": "start", "args": {"units": "a"}}, "start: units must be"),
        ({"id": 1, "verb": "start", "args": {"units": ["../../etc/shadow"]}}, "units must"),
        ({"id": 1, "verb": "start", "args": {"units": ["a b"]}}, "units must"),
        ({"id": 1, "verb": "start", "args": {"units": [""]}}, "units must"),
        ({"id": 1, "verb": "start", "args": {"units": ["a" * 257]}}, "units must"),
        ({"id": 1, "verb": "start", "args": {"units": [3]}}, "units must"),
        ({"id": 1, "verb": "status", "args": {"units": ["x*"]}}, "units must"),
        ({"id": 1, "verb": "start", "args": {"units": ["a"], "force": True}}, "'force'"),
        ({"id": 1, "verb": "start", "args": {"units": ["a"], "no_block": 1}}, "no_block must"),
        ({"id": 1, "verb": "kill", "args": {"units": ["a"], "signal": True}}, "signal must"),
        ({"id": 1, "verb": "kill", "args": {"units": ["a"], "signal": 0}}, "signal must"),
        ({"id": 1, "verb": "kill", "args": {"units": ["a"], "signal": "TERM"}}, "signal must"),
        ({"id": 1, "verb": "kill", "args": {"units": ["a"], "whom": "rest"}}, "whom must"),
        ({"id": 1, "verb": "exit", "args": {"code": 256}}, "code must"),
        ({"id": 1, "verb": "exit", "args": {"code": -1}}, "code must"),
        ({"id": 1, "verb": "show", "args": {"properties": ["Main-PID"]}}, "properties must"),
        ({"id": 1, "verb": "show", "args": {"properties": ["Ä"]}}, "properties must"),
        ({"id": 1, "verb": "list-units", "args": {"patterns": ["a/b"]}}, "patterns must"),
        ({"id": 1, "verb": "health", "args": []}, "args must be an object"),
        ({"id": 1, "verb": 5}, "verb must be a string"),
        ({"id": 1, "verb": "health", "extra": 1}, "unknown key 'extra'"),
    ],
)
def test_invalid_requests_say_why_and_keep_the_id(message: object, expected: str) -> None:
    error = error_of(line(message))
    assert expected in error.message
    assert error.id == 1


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"", "not a JSON line"),
        (b"{", "not a JSON line"),
        (b"\xff\xfe{}", "not a JSON line"),
        (b'{"id": NaN, "verb": "health"}', "not a JSON line"),
        (b"[1]", "must be a JSON object"),
        (b"[" * 100_000, "nested too deeply"),
        (b'{"verb": "health"}', "id must be"),
        (b'{"id": true, "verb": "health"}', "id must be"),
        (b'{"id": -1, "verb": "health"}', "id must be"),
        (line({"id": MAX_ID + 1, "verb": "health"}), "id must be"),
        (b'{"id": 1.0, "verb": "health"}', "id must be"),
    ],
)
def test_unreadable_lines_have_no_id(raw: bytes, expected: str) -> None:
    error = error_of(raw)
    assert expected in error.message
    assert error.id is None


def test_utf16_is_not_guessed() -> None:
    assert isinstance(decode_request('{"id":1,"verb":"health"}'.encode("utf-16")), ProtocolError)


def test_build_request_checks_the_id_too() -> None:
    assert isinstance(build_request(-5, "health"), ProtocolError)
    assert isinstance(build_request(True, "health"), ProtocolError)


def test_list_arguments_are_copied() -> None:
    units = ["a.service"]
    built = request("stop", units=units)
    units.append("b.service")
    assert built.units == ["a.service"]


@pytest.mark.parametrize(
    "response",
    [
        Response.success(7, {"units": [{"name": "a.service", "state": "active"}]}),
        Response.success(7, None, exit=3),
        Response.failure(0, "permission denied", exit=4),
        Response.success(2**63 - 1, {"text": "caf\u00e9 \udcff \u2028 \n"}),
    ],
)
def test_responses_round_trip(response: Response) -> None:
    encoded = encode_response(response)
    assert encoded.endswith(b"\n") and encoded.count(b"\n") == 1
    assert encoded.isascii()
    assert decode_response(encoded) == response


def test_encoding_a_result_that_is_not_json_raises() -> None:
    with pytest.raises(ValueError):
        encode_response(Response.success(1, {"cpu": float("nan")}))
    with pytest.raises(TypeError):
        encode_response(Response.success(1, {"set": {1}}))


def test_responses_without_result_and_error_are_accepted() -> None:
    assert decode_response(b'{"id": 1, "ok": true, "exit": 0}') == Response.success(1)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b'{"id": "1", "ok": true, "exit": 0}', "id must be"),
        (b'{"id": 1, "ok": 1, "exit": 0}', "ok must be"),
        (b'{"id": 1, "ok": true, "exit": 256}', "exit must be"),
        (b'{"id": 1, "ok": true, "exit": false}', "exit must be"),
        (b'{"id": 1, "ok": false, "exit": 1, "error": 3}', "error must be"),
        (b"null", "must be a JSON object"),
    ],
)
def test_invalid_responses(raw: bytes, expected: str) -> None:
    error = decode_response(raw)
    assert isinstance(error, ProtocolError)
    assert expected in error.message


# --- LineBuffer ---------------------------------------------------------------


def test_lines_split_across_and_within_chunks() -> None:
    buffer = LineBuffer()
    assert buffer.feed(b'{"a"') == []
    assert buffer.feed(b":1}\n{") == [b'{"a":1}']
    assert buffer.feed(b"}\n\n  \n[]\nx") == [b"{}", b"[]"]  # blank lines dropped
    assert buffer.tail() == b"x"
    assert buffer.tail() == b""


def test_a_line_of_exactly_the_limit_passes() -> None:
    buffer = LineBuffer(max_line=10)
    assert buffer.feed(b"0123456789\n") == [b"0123456789"]
    assert buffer.feed(b"0123456789") == []
    assert not buffer.overflowed
    assert buffer.feed(b"\n") == [b"0123456789"]


def test_an_unfinished_line_over_the_limit_overflows() -> None:
    buffer = LineBuffer(max_line=10)
    assert buffer.feed(b"ok\n01234567890") == [b"ok"]
    assert buffer.overflowed
    assert buffer.feed(b"\nmore\n") == []  # nothing after an overflow
    assert buffer.tail() == b""


def test_a_finished_line_over_the_limit_overflows_but_earlier_lines_count() -> None:
    buffer = LineBuffer(max_line=4)
    assert buffer.feed(b"one\ntoolong\nafter\n") == [b"one"]
    assert buffer.overflowed


def test_the_default_limit_is_one_mebibyte() -> None:
    buffer = LineBuffer()
    assert buffer.max_line == MAX_LINE == 1024 * 1024
    buffer.feed(b"x" * MAX_LINE)
    assert not buffer.overflowed
    buffer.feed(b"x")
    assert buffer.overflowed


def test_byte_at_a_time() -> None:
    buffer = LineBuffer()
    got: list[bytes] = []
    payload = b'{"id":1,"verb":"health"}\n' * 200
    for byte in payload:
        got += buffer.feed(bytes([byte]))
    assert got == [b'{"id":1,"verb":"health"}'] * 200


# --- nothing raises -----------------------------------------------------------


@given(st.binary(max_size=2000))
def test_random_bytes_never_raise(data: bytes) -> None:
    assert isinstance(decode_request(data), Request | ProtocolError)
    assert isinstance(decode_response(data), Response | ProtocolError)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
REQUEST_LIKE = st.fixed_dictionaries(
    {"id": st.integers(-2, 2**64) | JSON, "verb": st.sampled_from([*Verb, "nope"]) | JSON},
    optional={
        "args": st.dictionaries(
            st.sampled_from(["units", "all", "signal", "whom", "code", "properties", "x"]),
            JSON | st.lists(st.text(max_size=12), max_size=3),
        )
    },
)


@given(REQUEST_LIKE)
def test_random_request_shaped_objects_never_raise(message: dict[str, object]) -> None:
    decoded = decode_request(json.dumps(message).encode())
    if isinstance(decoded, Request):
        # What was accepted encodes and decodes to itself.
        assert decode_request(encode_request(decoded)) == decoded


@given(st.lists(st.binary(max_size=50), max_size=20), st.integers(1, 40))
def test_chunking_does_not_change_the_lines(chunks: list[bytes], limit: int) -> None:
    data = b"".join(chunks)
    buffer = LineBuffer(max_line=limit)
    got: list[bytes] = []
    for chunk in chunks:
        got += buffer.feed(chunk)
    *complete, rest = data.split(b"\n")
    nonblank = [piece for piece in complete if piece.strip()]
    if any(len(piece) > limit for piece in [*complete, rest]):
        assert buffer.overflowed
        assert got == nonblank[: len(got)]
    else:
        assert not buffer.overflowed
        assert got == nonblank
        assert buffer.tail() == rest


@pytest.mark.parametrize(
    ("name", "value"),
    [("lines", -2), ("lines", True), ("after", -1), ("after", 1.5), ("since", -1), ("since", "x")],
)
def test_logs_numbers_are_checked(name: str, value: object) -> None:
    assert isinstance(build_request(1, "logs", {name: value}), ProtocolError)


def test_logs_defaults() -> None:
    logs = request("logs")
    assert logs.args == {"units": [], "lines": -1, "after": 0, "since": 0, "wait": False}


def test_clip_strings_cuts_only_long_strings_and_says_so() -> None:
    from guestinit.control.protocol import clip_strings

    value = {"units": [{"description": "d" * 5000, "name": "a.service", "pid": 3}], "n": None}
    clipped = clip_strings(value, 4096)
    assert isinstance(clipped, dict)
    unit = clipped["units"][0]
    assert unit["name"] == "a.service" and unit["pid"] == 3 and clipped["n"] is None
    assert unit["description"] == "d" * 4096 + "... [904 more characters cut]"


def test_line_buffer_says_when_a_line_is_unfinished() -> None:
    from guestinit.control.protocol import LineBuffer

    buffer = LineBuffer()
    assert buffer.feed(b'{"id": 1}\n{"id"') == [b'{"id": 1}']
    assert buffer.partial
    assert buffer.feed(b": 2}\n") == [b'{"id": 2}'] and not buffer.partial
