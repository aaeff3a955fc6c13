"""A tiny getopt-style command-line parser, pure.

Written here rather than using argparse or getopt: both pull ``re`` and
``gettext`` (~9-10 ms measured), which would double guestinit's start-up time,
and the tools we replace (tini, dumb-init) use POSIX getopt with "stop at the
first non-option" semantics, which this reproduces exactly.
"""


class UsageError(Exception):
    """A command line we cannot accept; the message says why."""


def parse(
    argv: list[str], short: str, long: dict[str, str] | None = None
) -> tuple[list[tuple[str, str]], list[str]]:
    """Split ``argv`` into ``[(option, value)]`` and the remaining words.

    ``short`` is getopt's spec ("hsp:v": a colon marks an option with a value).
    ``long`` maps long names (with a trailing "=" when they take a value) to the
    option they stand for, e.g. ``{"grace=": "--grace", "help": "-h"}``.
    Parsing stops at ``--`` (dropped) or at the first word that is not an option.
    """
    long = long or {}
    found: list[tuple[str, str]] = []
    i = 0
    while i < len(argv):
        word = argv[i]
        if word == "--":
            return found, argv[i + 1 :]
        if word.startswith("--"):
            i = _parse_long(argv, i, long, found)
            continue
        if not word.startswith("-") or word == "-":
            return found, argv[i:]
        i = _parse_short_cluster(argv, i, short, found)
    return found, []


def _parse_long(argv: list[str], i: int, long: dict[str, str], found: list[tuple[str, str]]) -> int:
    name, has_inline, inline = argv[i][2:].partition("=")
    if name in long:
        if has_inline:
            raise UsageError(f"option '--{name}' doesn't allow an argument")
        found.append((long[name], ""))
        return i + 1
    if name + "=" in long:
        if has_inline:
            found.append((long[name + "="], inline))
            return i + 1
        if i + 1 >= len(argv):
            raise UsageError(f"option '--{name}' requires an argument")
        found.append((long[name + "="], argv[i + 1]))
        return i + 2
    raise UsageError(f"unrecognized option '--{name}'")


def _parse_short_cluster(argv: list[str], i: int, short: str, found: list[tuple[str, str]]) -> int:
    word = argv[i]
    j = 1
    while j < len(word):
        letter = word[j]
        at = short.find(letter)
        if letter == ":" or at < 0:
            raise UsageError(f"invalid option -- '{letter}'")
        if short[at + 1 : at + 2] != ":":
            found.append(("-" + letter, ""))
            j += 1
            continue
        if j + 1 < len(word):
            found.append(("-" + letter, word[j + 1 :]))
            return i + 1
        if i + 1 >= len(argv):
            raise UsageError(f"option requires an argument -- '{letter}'")
        found.append(("-" + letter, argv[i + 1]))
        return i + 2
    return i + 1
