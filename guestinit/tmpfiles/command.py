"""``systemd-tmpfiles`` (also ``guestinit tmpfiles``): the command line.

Exit codes are systemd-tmpfiles(8)'s: 0; 65 (EX_DATAERR) when some lines
were invalid and skipped but everything else worked; 73 (EX_CANTCREAT) when
some line could not be carried out; 1 for bad usage.
"""

import os
import sys

from guestinit import __version__, _argv, _log
from guestinit.tmpfiles import config, plan
from guestinit.tmpfiles.apply import Applier
from guestinit.tmpfiles.parse import Diagnostic, Line, Severity, parse_text

EX_DATAERR = 65
EX_CANTCREAT = 73

USAGE = """\
systemd-tmpfiles [OPTIONS...] [CONFIGURATION FILE...]

guestinit's systemd-tmpfiles: creates, deletes and cleans up files and
directories as tmpfiles.d(5) says.

  --create               create and adjust files and directories
  --remove               remove what D, r and R lines name
  --clean                clean by age (not implemented: cleans nothing)
  --boot                 also the lines marked with "!"
  --prefix PATH          only lines with paths below PATH (repeatable)
  --exclude-prefix PATH  leave out lines with paths below PATH (repeatable)
  -E                     --exclude-prefix for /dev, /proc, /run and /sys
  --root DIR             operate on DIR as the root directory
  --cat-config           print the configuration files and exit
  -h, --help             print this help;  --version  print the version

Line types t T h H a A (attributes, ACLs) are parsed and skipped; ages are
not acted on.
"""

_LONG = {
    "create": "--create",
    "remove": "--remove",
    "clean": "--clean",
    "boot": "--boot",
    "prefix=": "--prefix",
    "exclude-prefix=": "--exclude-prefix",
    "root=": "--root",
    "cat-config": "--cat-config",
    "no-pager": "--no-pager",
    "help": "-h",
    "version": "--version",
    "user": "--user",
}


def main(argv: list[str]) -> int:
    try:
        options, files = _parse(argv)
    except _argv.UsageError as error:
        _log.write_quietly(2, f"systemd-tmpfiles: {error}\n")
        return 1
    if "-h" in options:
        _log.write_quietly(1, USAGE)
        return 0
    if "--version" in options:
        _log.write_quietly(1, f"systemd 252 (guestinit {__version__} tmpfiles)\n")
        return 0
    if "--user" in options:
        _log.write_quietly(2, "systemd-tmpfiles: --user is not supported by guestinit\n")
        return 1
    root = options.get("--root", [""])[-1] or "/"
    paths, problems = _sources(files, root)
    if "--cat-config" in options:
        for path in paths:
            try:
                _log.write_quietly(1, f"# {path}\n{_read(path)}\n")
            except OSError as error:
                _log.write_quietly(2, f"{path}: cannot read: {error.strerror}\n")
        return 0
    wanted = {"--create", "--remove", "--clean"} & set(options)
    if not wanted:
        _log.write_quietly(
            2, "You need to specify at least one of --clean, --create, or --remove.\n"
        )
        return 1
    if "--clean" in options:
        _log.write_quietly(2, "systemd-tmpfiles: --clean: age-based cleaning is not implemented\n")
    excludes = list(options.get("--exclude-prefix", []))
    if "-E" in options:
        excludes += ["/dev", "/proc", "/run", "/sys"]
    selection = plan.Selection(
        boot="--boot" in options,
        prefixes=tuple(options.get("--prefix", [])),
        exclude_prefixes=tuple(excludes),
    )
    return run(paths, root, selection, "--create" in options, "--remove" in options, problems)


def run(
    paths: list[str],
    root: str,
    selection: plan.Selection,
    create: bool,
    remove: bool,
    problems: list[Diagnostic] | None = None,
) -> int:
    """Apply ``paths`` (in precedence order); print every problem; the exit code."""
    from guestinit.unitfile.load import host_context

    problems = list(problems or [])
    context = host_context(root)
    parsed: list[list[Line]] = []
    for path in paths:
        try:
            text = _read(path)
        except OSError as error:
            problems.append(Diagnostic(path, f"cannot read: {error.strerror}"))
            continue
        lines, notes = parse_text(text, path, context)
        parsed.append(lines)
        problems += notes
    groups, notes = plan.merge(parsed, selection)
    problems += notes
    applier = Applier(root)
    old_umask = os.umask(0o022)
    try:
        if remove:
            for path in plan.remove_order(groups):
                for line in groups[path]:
                    applier.remove(line)
        if create:
            for path in plan.create_order(groups):
                for line in groups[path]:
                    applier.create(line)
    finally:
        os.umask(old_umask)
    problems += applier.problems
    for problem in problems:
        _log.write_quietly(2, f"{problem}\n")
    if applier.failed:
        return EX_CANTCREAT
    if any(p.severity is Severity.ERROR for p in problems):
        return EX_DATAERR
    return 0


def _parse(argv: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    found: list[tuple[str, str]] = []
    words: list[str] = []
    rest = argv
    while rest:
        parsed, rest = _argv.parse(rest, "hE", _LONG)
        found += parsed
        if rest:
            words.append(rest[0])
            rest = rest[1:]
    options: dict[str, list[str]] = {}
    for option, value in found:
        options.setdefault(option, []).append(value)
    return options, words


def _sources(files: list[str], root: str) -> tuple[list[str], list[Diagnostic]]:
    """The files named on the command line (absolute, or a name to look up
    in the configuration directories), else every configuration file."""
    if not files:
        return config.config_files(root), []
    paths: list[str] = []
    problems: list[Diagnostic] = []
    for name in files:
        if name == "-":
            paths.append("/dev/stdin")
        elif name.startswith("/"):
            paths.append(name)  # as given, even with --root (as systemd-tmpfiles does)
        else:
            found = config.find_config(name, root)
            if found is None:
                problems.append(Diagnostic(name, "no such configuration file (or masked)"))
            else:
                paths.append(found)
    return paths, problems


def _read(path: str) -> str:
    with open(path, encoding="utf-8", errors="surrogateescape") as source:
        return source.read()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
