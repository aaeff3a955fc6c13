"""Benchmark guestinit's PID-1 core against tini and dumb-init; prints one
markdown table (``--record`` also appends it to bench/RESULTS.md).

    .venv/bin/python bench/pid1.py [--quick] [--record]

Needs root (PID namespaces), gcc and hyperfine. Every init runs as PID 1 of its
own ``unshare --pid --fork --mount-proc`` namespace, killed whole at the end.
"""

import sys
from pathlib import Path


def _main() -> int:
    # Run as a file, so the repo root is not on sys.path yet: add it, then
    # import the package (the import must come after, hence inside here).
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from bench._run import main

    return main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(_main())
