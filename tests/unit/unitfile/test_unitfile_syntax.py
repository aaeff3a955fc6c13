"""The ini layer: sections, comments, continuations, and what systemd refuses."""

from guestinit.unitfile._diagnostics import Severity, Sink
from guestinit.unitfile._syntax import MAX_LINE, ParsedText, parse_text


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


def test_a_line_past_one_mib_refuses_the_file_naming_the_line() -> None:
    text = "[Unit]\nDescription=ok\nDocumentation=" + "x" * (MAX_LINE + 1) + "\n[Service]\n"
    parsed, sink = parse(text)
    assert parsed.fatal and not parsed.assignments
    assert [(d.severity, d.line) for d in sink.items] == [(Severity.ERROR, 3)]
    assert "longer than 1 MiB" in sink.items[0].message


def test_a_line_of_exactly_one_mib_is_kept() -> None:
    value = "x" * (MAX_LINE - len("Description="))
    parsed, sink = parse(f"[Unit]\nDescription={value}\n")
    assert not parsed.fatal and not sink.items and parsed.assignments[0].value == value


def test_continuations_count_toward_the_limit_at_their_first_line() -> None:
    piece = "y" * 1000 + "\\\n"
    text = "[Unit]\n\nDescription=" + piece * (MAX_LINE // 1000 + 1) + "end\n"
    parsed, sink = parse(text)
    assert parsed.fatal and [d.line for d in sink.items] == [3]


def test_a_long_continued_line_joins_in_linear_time() -> None:
    # 200,000 two-character pieces: joining by concatenation would copy ~40 GB.
    text = "[Unit]\nDescription=" + "a\\\n" * 200_000 + "b\n"
    parsed, _ = parse(text)
    assert parsed.assignments[0].value.startswith("a a a") and len(parsed.assignments) == 1
