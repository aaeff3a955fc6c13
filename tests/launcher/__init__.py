"""The test-only C launcher that keeps argv[0] (see argv0_launcher.c), built
with gcc at test time into a directory of the caller's choosing."""

import shutil
import subprocess
import sys
from pathlib import Path

SOURCE = Path(__file__).with_name("argv0_launcher.c")


def guestinit_script() -> Path:
    """The venv's ``guestinit`` console script (next to this interpreter)."""
    return Path(sys.executable).with_name("guestinit")


def build(directory: Path, name: str, target: Path | None = None) -> Path:
    """``directory/name``: a real file (not a link: callers may realpath it)
    that runs guestinit with argv[0] as typed."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    if path.exists():
        return path
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        raise RuntimeError("gcc is needed to build the test launcher")
    goal = str(target or guestinit_script())
    building = path.with_name(f".{name}.building")
    subprocess.run(
        [compiler, "-O2", "-o", str(building), f'-DGUESTINIT_TARGET="{goal}"', str(SOURCE)],
        check=True,
    )
    building.replace(path)
    return path
