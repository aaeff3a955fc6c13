"""The ini layer: sections, comments, continuations, and what systemd refuses."""

from guestinit.unitfile._diagnostics import Severity, Sink
from guestinit.unitfile._syntax import ParsedText, parse_text


def parse(text: str) -> tuple[ParsedText, Sink]:
    sink = Sink()
    return parse_text(text, "t.service", sink), sink


def pairs(parsed: ParsedText) -> list[tuple[str, str, str, int]]:
    return [(a.section, a.key, a.value, a.at.line) for a in parsed.assignments]


def test_sections_keys_and_trimming() -> None:
    parsed, sink = parse("[Unit]\n  Description =  hello world  \n[Service]\nType=simple\n")
    assert pairs(parsed) == [
        ("Unit", "Description", "hello world", 2),
        ("Service", "Type", "simple", 4),
    ]
    assert [s.name for s in parsed.sections] == ["Unit", "Service"]
    assert not sink.items


def test_comments_only_at_line_start() -> None:
    parsed, _ = parse("[Unit]\n# a comment\n  ; another\nDescription=a # not a comment\n")
    assert pairs(parsed) == [("Unit", "Description", "a # not a comment", 4)]


def test_continuation_joins_with_a_space_and_skips_comment_lines() -> None:
    text = "[Service]\nExecStart=/bin/echo one \\\n# dropped\n; dropped too\n  two\nType=oneshot\n"
    parsed, _ = parse(text)
    assert pairs(parsed) == [
        ("Service", "ExecStart", "/bin/echo one    two", 2),
        ("Service", "Type", "oneshot", 6),
    ]


def test_escaped_backslash_at_end_does_not_continue() -> None:
    parsed, _ = parse("[Service]\nA=x\\\\\nB=y\n")
    assert pairs(parsed) == [("Service", "A", "x\\\\", 2), ("Service", "B", "y", 3)]


def test_blank_line_ends_a_continuation() -> None:
    parsed, _ = parse("[Service]\nA=x \\\n\nB=y\n")
    assert pairs(parsed) == [("Service", "A", "x", 2), ("Service", "B", "y", 4)]


def test_continuation_at_end_of_file_is_kept() -> None:
    parsed, _ = parse("[Service]\nA=x \\")
    assert pairs(parsed) == [("Service", "A", "x", 2)]


def test_crlf_and_bom() -> None:
    parsed, sink = parse("\ufeff[Unit]\r\nDescription=x\r\n")
    assert pairs(parsed) == [("Unit", "Description", "x", 2)]
    assert not sink.items


def test_value_keeps_inner_equals_and_empty_value_is_kept() -> None:
    parsed, _ = parse("[Service]\nEnvironment=A=b=c\nExecStart=\n")
    assert pairs(parsed) == [
        ("Service", "Environment", "A=b=c", 2),
        ("Service", "ExecStart", "", 3),
    ]


def test_bad_lines_are_warnings_and_skipped() -> None:
    parsed, sink = parse("Early=1\n[Unit]\nno equals sign\n=value\nGood=1\n")
    assert pairs(parsed) == [("Unit", "Good", "1", 5)]
    assert [(d.severity, d.line) for d in sink.items] == [
        (Severity.WARNING, 1),
        (Severity.WARNING, 3),
        (Severity.WARNING, 4),
    ]
    assert not parsed.fatal


def test_unclosed_section_header_refuses_the_file() -> None:
    parsed, sink = parse("[Unit]\nA=1\n[Service\nB=2\n")
    assert parsed.fatal
    assert [(d.severity, d.line) for d in sink.items] == [(Severity.ERROR, 3)]
    assert "t.service:3" in str(sink.items[0])


def test_bad_characters_in_section_header_refuse_the_file() -> None:
    parsed, _ = parse('[Un"it]\n')
    assert parsed.fatal
