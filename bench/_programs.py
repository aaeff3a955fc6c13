"""The C workloads, compiled with gcc into a temporary directory at bench time.

C rather than Python so the workload's own cost is small and steady next to
the init's: a Python main process would add its start-up and GC noise to
every sample.
"""

import subprocess
from dataclasses import dataclass
from pathlib import Path

SOURCES = Path(__file__).resolve().parent / "programs"


@dataclass(frozen=True)
class Programs:
    orphan_burst: Path
    signal_clock: Path
    exec_clock: Path


def build(directory: Path) -> Programs:
    def compile_one(name: str) -> Path:
        binary = directory / name
        subprocess.run(
            ["gcc", "-O2", "-Wall", "-Wextra", "-o", str(binary), str(SOURCES / f"{name}.c")],
            check=True,
        )
        return binary

    return Programs(
        compile_one("orphan_burst"), compile_one("signal_clock"), compile_one("exec_clock")
    )
