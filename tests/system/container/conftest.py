"""Fixtures for the podman tests: the runtime, the image, containers that are
always removed (by the names we gave them), and an ssh key for logging in."""

import itertools
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.system.container import image, podman, rootfs

_names = itertools.count()
PREFIX = "guestinit-test-"


@pytest.fixture(scope="session")
def runtime() -> podman.Podman:
    why = podman.unavailable_reason() or rootfs.unavailable_reason()
    if why is not None:
        pytest.skip(why)
    runtime = podman.Podman.create()
    _remove_leftovers(runtime)
    return runtime


def _remove_leftovers(runtime: podman.Podman) -> None:
    """Containers of an earlier test run that was killed before its cleanup:
    ours by name (PREFIX-PID-N), and their PID's run is gone."""
    for name in runtime.containers_named(PREFIX):
        pid = name.removeprefix(PREFIX).split("-")[0]
        if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            runtime.run("rm", "--force", "--time", "0", name, check=False)


@pytest.fixture(scope="session")
def guestinit_image(runtime: podman.Podman) -> str:
    try:
        return image.guestinit_image(runtime)
    except image.Unavailable as error:
        pytest.skip(str(error))


@pytest.fixture
def container_name(runtime: podman.Podman) -> Iterator[Callable[[], str]]:
    """Fresh container names; every container made under one is removed."""
    made: list[str] = []

    def new() -> str:
        name = f"{PREFIX}{os.getpid()}-{next(_names)}"
        made.append(name)
        return name

    yield new
    for name in made:
        runtime.run("rm", "--force", "--time", "0", name, check=False)


@pytest.fixture(scope="session")
def ssh_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    key = tmp_path_factory.mktemp("ssh") / "id_ed25519"
    keygen = ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "guestinit-container-test"]
    subprocess.run([*keygen, "-f", str(key)], check=True)
    return key
