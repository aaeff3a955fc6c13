"""Exec lines (``ExecStart=`` and friends): prefixes, argv, and ``$VAR`` expansion.

Parsing keeps the argv raw (quotes and escapes undone, specifiers resolved);
environment expansion happens later, when the environment is known, through the
pure :func:`expand_exec`. That split mirrors systemd: specifiers at load time,
variables at spawn time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from guestinit.unitfile._quote import QuoteError, next_word, skip_space, split_words
from guestinit.unitfile._syntax import WHITESPACE


class ExecError(ValueError):
    """The command line cannot be used; systemd ignores such an assignment."""


@dataclass(frozen=True)
class ExecCommand:
    """One command line. ``argv[0]`` is the path unless the ``@`` prefix gave another."""

    path: str
    argv: tuple[str, ...]
    ignore_failure: bool = False  # "-": a failing exit counts as success
    argv0_override: bool = False  # "@": argv[0] is the second word, not the path
    no_env_expansion: bool = False  # ":": $VAR and ${VAR} stay literal
    full_privileges: bool = False  # "+": no User=/Group= or sandboxing
    no_setuid: bool = False  # "!": keep sandboxing, skip the user switch
    ambient_fallback: bool = False  # "!!": "!" only where ambient caps are missing


def _prefixes(word: str) -> tuple[dict[str, bool], str]:
    """Strip the prefix characters; each may appear once, and only one of + ! !!."""
    flags = dict.fromkeys(
        (
            "ignore_failure",
            "argv0_override",
            "no_env_expansion",
            "full_privileges",
            "no_setuid",
            "ambient_fallback",
        ),
        False,
    )
    pos = 0
    while pos < len(word):
        char = word[pos]
        privilege = flags["full_privileges"] or flags["no_setuid"] or flags["ambient_fallback"]
        if char == "-" and not flags["ignore_failure"]:
            flags["ignore_failure"] = True
        elif char == "@" and not flags["argv0_override"]:
            flags["argv0_override"] = True
        elif char == ":" and not flags["no_env_expansion"]:
            flags["no_env_expansion"] = True
        elif char == "+" and not privilege:
            flags["full_privileges"] = True
        elif char == "!" and not privilege:
            flags["no_setuid"] = True
        elif char == "!" and flags["no_setuid"]:
            flags["no_setuid"] = False  # a second "!" upgrades "!" to "!!"
            flags["ambient_fallback"] = True
        else:
            break
        pos += 1
    return flags, word[pos:]


def _at_separator(text: str, pos: int, token: str) -> bool:
    end = pos + len(token)
    return text.startswith(token, pos) and (end == len(text) or text[end] in WHITESPACE)


def parse_exec(value: str, resolve: Callable[[str], str], warnings: list[str]) -> list[ExecCommand]:
    """Commands in one Exec assignment (``;`` as a lone word separates several).

    ``resolve`` applies specifiers to one word. Raises ExecError, QuoteError or the
    resolver's error (SpecifierError); the caller ignores the assignment then.
    """
    commands: list[ExecCommand] = []
    pos = 0
    while True:
        first, pos = next_word(value, pos, warnings)
        if first is None:
            return commands
        flags, path = _prefixes(first)
        path = resolve(path)
        if not path:
            raise ExecError("empty executable path")
        if "/" in path and not path.startswith("/"):
            raise ExecError(f"{path!r} is neither an absolute path nor a plain file name")
        argv: list[str] = [] if flags["argv0_override"] else [path]
        while True:
            pos = skip_space(value, pos)
            if _at_separator(value, pos, ";"):
                pos += 1
                break
            if _at_separator(value, pos, "\\;"):
                argv.append(";")
                pos += 2
                continue
            word, pos = next_word(value, pos, warnings)
            if word is None:
                break
            argv.append(resolve(word))
        if not argv:
            raise ExecError(f"the '@' prefix needs an argv[0] after {path!r}")
        commands.append(ExecCommand(path=path, argv=tuple(argv), **flags))


def _replace_braced(word: str, env: Mapping[str, str]) -> str:
    """``${NAME}`` -> its value (unset is empty), ``$$`` -> ``$``; other text as is."""
    out: list[str] = []
    pos = 0
    while pos < len(word):
        if word.startswith("$$", pos):
            out.append("$")
            pos += 2
            continue
        if word.startswith("${", pos):
            end = word.find("}", pos + 2)
            if end != -1:
                out.append(env.get(word[pos + 2 : end], ""))
                pos = end + 1
                continue
        out.append(word[pos])
        pos += 1
    return "".join(out)


def expand_exec(cmd: ExecCommand, env: Mapping[str, str]) -> list[str]:
    """The argv to exec after environment expansion (systemd.service(5), Command lines).

    A word that is exactly ``$NAME`` becomes the value split at whitespace (quotes
    in the value respected), zero words if unset; ``${NAME}`` anywhere in a word
    becomes the value as one piece. The ``:`` prefix turns expansion off.
    """
    if cmd.no_env_expansion:
        return list(cmd.argv)
    out: list[str] = []
    for word in cmd.argv:
        if word.startswith("$") and word[1:2] not in ("{", "$"):
            value = env.get(word[1:])
            if value:
                try:
                    out.extend(split_words(value, [], c_escapes=False, relax=True))
                except QuoteError:  # pragma: no cover - relax=True never raises
                    out.extend(value.split())
            continue
        out.append(_replace_braced(word, env))
    return out
