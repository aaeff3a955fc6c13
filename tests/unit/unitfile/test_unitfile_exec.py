"""Exec lines: prefixes, quoting, specifiers per word, and $VAR expansion."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from guestinit.unitfile import ExecCommand, expand_exec
from guestinit.unitfile._exec import ExecError, parse_exec
from guestinit.unitfile._quote import QuoteError, split_words


def parse(value: str) -> list[ExecCommand]:
    warnings: list[str] = []
    commands = parse_exec(value, lambda word: word.replace("%i", "inst"), warnings)
    assert not warnings
    return commands


def one(value: str) -> ExecCommand:
    (command,) = parse(value)
    return command


def test_plain_command() -> None:
    cmd = one("/usr/sbin/sshd -D $SSHD_OPTS")
    assert cmd.path == "/usr/sbin/sshd"
    assert cmd.argv == ("/usr/sbin/sshd", "-D", "$SSHD_OPTS")
    assert not cmd.ignore_failure


@pytest.mark.parametrize(
    ("prefix", "flags"),
    [
        ("-", {"ignore_failure"}),
        ("@", {"argv0_override"}),
        (":", {"no_env_expansion"}),
        ("+", {"full_privileges"}),
        ("!", {"no_setuid"}),
        ("!!", {"ambient_fallback"}),
        ("-:+", {"ignore_failure", "no_env_expansion", "full_privileges"}),
        (":-!!", {"ignore_failure", "no_env_expansion", "ambient_fallback"}),
    ],
)
def test_prefixes(prefix: str, flags: set[str]) -> None:
    argv0 = " name" if "@" in prefix else ""
    cmd = one(f"{prefix}/bin/true{argv0} x")
    names = (
        "ignore_failure",
        "argv0_override",
        "no_env_expansion",
        "full_privileges",
        "no_setuid",
        "ambient_fallback",
    )
    assert {name for name in names if getattr(cmd, name)} == flags
    assert cmd.path == "/bin/true"


def test_at_prefix_takes_argv0_from_the_second_word() -> None:
    cmd = one("@/usr/sbin/agetty agetty -8 tty1")
    assert cmd.path == "/usr/sbin/agetty"
    assert cmd.argv == ("agetty", "-8", "tty1")


def test_two_privilege_prefixes_leave_a_bad_path() -> None:
    with pytest.raises(ExecError):
        parse("+!/bin/true")


def test_relative_path_with_slash_is_refused_but_bare_name_is_fine() -> None:
    with pytest.raises(ExecError):
        parse("bin/true")
    assert one("true x").path == "true"


def test_quotes_and_escapes() -> None:
    cmd = one('/bin/sh -c \'dmesg | tac\' "a\\tb" x\\x41 a"b c"d')
    assert cmd.argv == ("/bin/sh", "-c", "dmesg | tac", "a\tb", "xA", "ab cd")


def test_empty_quoted_word_is_kept() -> None:
    assert one('/bin/echo "" x').argv == ("/bin/echo", "", "x")


def test_unterminated_quote_is_an_error() -> None:
    with pytest.raises(QuoteError):
        parse("/bin/echo 'oops")


def test_unknown_escape_is_kept_with_a_warning() -> None:
    warnings: list[str] = []
    (cmd,) = parse_exec("/bin/echo a\\qb", str, warnings)
    assert cmd.argv == ("/bin/echo", "a\\qb")
    assert warnings


def test_specifiers_per_word_after_unquoting() -> None:
    assert one("/bin/echo '%i x'").argv == ("/bin/echo", "inst x")


def test_semicolon_separates_commands_and_escaped_semicolon_is_literal() -> None:
    cmds = parse('/bin/echo one ; /bin/echo "two two"')
    assert [c.argv for c in cmds] == [("/bin/echo", "one"), ("/bin/echo", "two two")]
    assert one("/bin/echo a \\; b").argv == ("/bin/echo", "a", ";", "b")
    assert one("/bin/echo a;b").argv == ("/bin/echo", "a;b")


def test_at_prefix_without_argv0_is_an_error() -> None:
    with pytest.raises(ExecError):
        parse("@/bin/true")


ENV = {"ONE": "one", "TWO": "two two", "Q": "'a b' c", "E": ""}


def test_dollar_word_splits_and_braces_keep_one_word() -> None:
    cmd = one("/bin/echo $ONE $TWO ${TWO}")
    assert expand_exec(cmd, ENV) == ["/bin/echo", "one", "two", "two", "two two"]


def test_manual_example_with_quotes_in_values() -> None:
    env = {"ONE": "'one'", "TWO": "'two two' too", "THREE": ""}
    first = one("/bin/echo ${ONE} ${TWO} ${THREE}")
    second = one("/bin/echo $ONE $TWO $THREE")
    assert expand_exec(first, env) == ["/bin/echo", "'one'", "'two two' too", ""]
    assert expand_exec(second, env) == ["/bin/echo", "one", "two two", "too"]


def test_unset_variables() -> None:
    cmd = one("/bin/echo $NOPE x${NOPE}y")
    assert expand_exec(cmd, {}) == ["/bin/echo", "xy"]


def test_dollar_dollar_is_a_literal_dollar_and_midword_dollar_stays() -> None:
    cmd = one("/bin/echo $$HOME a$ONE")
    assert expand_exec(cmd, ENV) == ["/bin/echo", "$HOME", "a$ONE"]


def test_colon_prefix_disables_expansion() -> None:
    cmd = one(":/bin/echo $ONE ${TWO}")
    assert expand_exec(cmd, ENV) == ["/bin/echo", "$ONE", "${TWO}"]


def test_expansion_does_not_touch_the_path() -> None:
    cmd = one("@/bin/sh $ONE -c x")
    assert cmd.path == "/bin/sh"
    assert expand_exec(cmd, ENV) == ["one", "-c", "x"]


def test_split_words_relaxed_mode_for_values() -> None:
    assert split_words("a 'b c", [], c_escapes=False, relax=True) == ["a", "b c"]
    assert split_words("a\\nb", [], c_escapes=False) == ["anb"]


@given(st.text(max_size=60))
def test_random_exec_lines_raise_only_documented_errors(value: str) -> None:
    try:
        commands = parse_exec(value, str, [])
    except (ExecError, QuoteError):
        return
    for cmd in commands:
        assert cmd.argv
        assert expand_exec(cmd, {"A": value, "B": "x y"}) is not None


@given(st.lists(st.text(max_size=10), max_size=5), st.dictionaries(st.text(max_size=5), st.text()))
def test_expand_never_raises(argv: list[str], env: dict[str, str]) -> None:
    cmd = ExecCommand(path="/bin/x", argv=("/bin/x", *argv))
    assert len(expand_exec(cmd, env)) >= 1
