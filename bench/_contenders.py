"""Who is measured, and the exact command line each is started with."""

import os
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Debian's interpreter with -I -S: what images/install.sh's launcher runs on,
# and the floor no Python init can beat.
SYSTEM_PYTHON = "/usr/bin/python3"
FLOOR = (SYSTEM_PYTHON, "-I", "-S", "-c", "pass")
# The same floor, staying alive as PID 1 for the RSS and idle rows.
FLOOR_RESIDENT = (SYSTEM_PYTHON, "-I", "-S", "-c", "import select; select.select([], [], [])")


@dataclass(frozen=True)
class Init:
    name: str
    # The init and its options; the main process's argv is appended.
    argv: tuple[str, ...]


def launcher(directory: Path) -> Path:
    """A script like the one images/install.sh installs: the system
    interpreter, isolated and without site, importing this checkout."""
    path = directory / "guestinit"
    path.write_text(
        f"#!{SYSTEM_PYTHON} -IS\n"
        "import sys\n"
        f"sys.path.insert(0, {str(REPO)!r})\n"
        "from guestinit.cli import main\n"
        "sys.exit(main())\n"
    )
    path.chmod(0o755)
    return path


def inits(directory: Path) -> list[Init]:
    return [
        # The resource shim off: tini and dumb-init have none (its cost is its own row).
        Init("guestinit", (str(launcher(directory)), "--no-procshim", "--")),
        Init("tini", ("/usr/bin/tini", "--")),
        Init("dumb-init", ("/usr/bin/dumb-init", "--")),
    ]


def venv_python() -> str:
    """The interpreter running this bench (the repo's venv, normally)."""
    return sys.executable


def venv_console_script() -> str | None:
    script = Path(sys.executable).parent / "guestinit"
    return str(script) if os.access(script, os.X_OK) else None
