"""Fixture trees and host texts for procshim's unit tests."""

import re
import shutil
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
CGROUP = FIXTURES / "cgroup"
PROC = FIXTURES / "proc"


def host(name: str) -> str:
    """A host file captured on the CI machine (tests/fixtures/proc/NAME)."""
    return (PROC / name).read_text()


def tree(
    name: str, tmp_path: Path, cgroup: str | None = None, mountinfo: str | None = None
) -> Path:
    """A copy of fixture tree ``name`` whose /proc/self files may be replaced."""
    root = tmp_path / name
    shutil.copytree(CGROUP / name, root)
    if cgroup is not None:
        (root / "proc/self/cgroup").write_text(cgroup)
    if mountinfo is not None:
        (root / "proc/self/mountinfo").write_text(mountinfo)
    return root


def write(root: Path, files: dict[str, str]) -> Path:
    """Create a small tree: {"/sys/fs/cgroup/x/memory.max": "max\\n", ...}."""
    for path, text in files.items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return root


def cpuinfo_with(count: int) -> str:
    """The captured cpuinfo's first block for ``count`` CPUs (processor, apicid renumbered)."""
    block = host("cpuinfo").split("\n\n")[0] + "\n\n"
    blocks = []
    for n in range(count):
        text = re.sub(r"^processor\t: \d+", f"processor\t: {n}", block, flags=re.M)
        blocks.append(re.sub(r"^apicid\t\t: \d+", f"apicid\t\t: {n}", text, flags=re.M))
    return "".join(blocks)


def stat_with(count: int) -> str:
    """The captured /proc/stat with ``count`` cpuN lines."""
    lines = host("stat").splitlines(keepends=True)
    cpu0 = next(line for line in lines if line.startswith("cpu0 "))
    out = []
    for line in lines:
        if line.startswith("cpu0 "):
            out += [cpu0.replace("cpu0 ", f"cpu{n} ", 1) for n in range(count)]
        elif re.match(r"cpu\d+ ", line):
            continue
        else:
            out.append(line)
    return "".join(out)
