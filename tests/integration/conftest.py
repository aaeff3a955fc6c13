"""Fixtures for running guestinit for real: as PID 1 of a fresh PID namespace
(``unshare --pid --fork --mount-proc``), or as a plain child (subreaper mode).

Everything started here is ended here, by pid, even when a test fails.
"""

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.initrun import InitRun

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def runs() -> Iterator[list[InitRun]]:
    """Collects every InitRun a test starts and kills what is left afterwards."""
    started: list[InitRun] = []
    yield started
    for run in started:
        run.cleanup()


@pytest.fixture
def init(runs: list[InitRun]) -> "InitFactory":
    return InitFactory(runs)


class InitFactory:
    def __init__(self, runs: list[InitRun]) -> None:
        self._runs = runs

    def __call__(
        self,
        *args: str,
        pid1: bool = True,
        name: str | None = None,
        env: dict[str, str] | None = None,
        executable: str | None = None,
        setup: str | None = None,
        **popen: object,
    ) -> InitRun:
        run = InitRun(
            list(args), pid1=pid1, name=name, env=env, executable=executable, setup=setup, **popen
        )
        self._runs.append(run)
        run.start()
        return run

    def tool(
        self,
        tool: str,
        which: str,
        *args: str,
        pid1: bool = True,
        env: dict[str, str] | None = None,
        **popen: object,
    ) -> InitRun:
        """``tool`` (tini, dumb-init) run as the real Debian binary (``which``
        "real") or as guestinit through a program of that name ("ours")."""
        if which == "real":
            return self(*args, executable=shutil.which(tool), pid1=pid1, env=env, **popen)  # type: ignore[arg-type]
        return self(*args, name=tool, pid1=pid1, env=env, **popen)  # type: ignore[arg-type]


@pytest.fixture
def program() -> "ProgramPath":
    return ProgramPath()


class ProgramPath:
    """``program("trap_all")`` -> [python, tests/integration/programs/trap_all.py]."""

    def __call__(self, name: str, *args: str) -> list[str]:
        path = Path(__file__).with_name("programs") / f"{name}.py"
        return [sys.executable, str(path), *args]
