"""Fixtures of the VM tests: the cached boot files (built once per machine) and
guests that are always killed after their test, by pid, with their disk copy."""

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.sandbox import free_port
from tests.system.vm.harness import BootFiles, Vm
from tests.system.vm.images import Unavailable, boot_files

# A guest that is up: its kernel, our init, the network and sshd (TCG boots in
# ~10 s here; generous for a loaded 2-core machine, and stretched further by the
# harness's patience() while the host is busy).
BOOT_TIMEOUT = 120.0
# A VM test's whole budget (pytest-timeout): the first one also builds the cached
# kernel, initramfs and disk, and every wait inside may be stretched up to 4x.
VM_TEST_TIMEOUT = 1200


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.timeout(VM_TEST_TIMEOUT))


@pytest.fixture(scope="session")
def vm_files() -> BootFiles:
    try:
        return boot_files()
    except Unavailable as why:
        pytest.skip(str(why))


BootVm = Callable[..., Vm]


@pytest.fixture
def boot_vm(vm_files: BootFiles, tmp_path: Path) -> Iterator[BootVm]:
    """boot_vm(append="", files=None, cpus=1) starts a guest on a fresh copy of the disk
    and waits until root can log in by ssh."""
    started: list[Vm] = []

    def boot(append: str = "", files: BootFiles | None = None, cpus: int = 1) -> Vm:
        workdir = tmp_path / f"vm{len(started)}"
        workdir.mkdir()
        vm = Vm(files or vm_files, workdir, free_port(), append=append, cpus=cpus)
        started.append(vm)
        vm.boot()
        vm.wait_ssh(BOOT_TIMEOUT)
        return vm

    yield boot
    for vm in started:
        vm.close()
