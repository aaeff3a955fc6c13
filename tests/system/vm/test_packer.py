"""images/packer: the template is valid and formatted, and `packer build` makes
an image that boots with guestinit as /sbin/init and shuts down clean."""

import contextlib
import dataclasses
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from tests.system.vm.conftest import BootVm
from tests.system.vm.harness import BootFiles, patience
from tests.system.vm.images import REPO
from tests.system.vm.test_vm_boot import SHUTDOWN_TIMEOUT, assert_clean, ssh_ok

TEMPLATE = REPO / "images/packer"
PACKER = shutil.which("packer")
pytestmark = pytest.mark.skipif(PACKER is None, reason="packer is not installed")


def packer(tmp_path: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Packer offline (no checkpoint call), with its cache and logs in TMP_PATH."""
    assert PACKER is not None
    env = {
        **os.environ,
        "CHECKPOINT_DISABLE": "1",
        "PACKER_CACHE_DIR": str(tmp_path / "packer_cache"),
        "PACKER_NO_COLOR": "1",
        "TMPDIR": str(tmp_path),
    }
    # Its own process group: packer's qemu outlives packer when a timeout (ours or
    # pytest's) ends the build, and must go with it, killed by group id.
    process = subprocess.Popen(
        [PACKER, *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except BaseException:
        # packer is not reaped yet, so its group id is still ours to signal.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def variables(files: BootFiles, output: Path) -> list[str]:
    values = {
        "base_image": files.disk,
        "kernel": files.vmlinux,
        "initramfs": files.initramfs,
        "ssh_private_key_file": files.ssh_key,
        "source_dir": REPO,
        "output_directory": output,
    }
    return [arg for name, value in values.items() for arg in ("-var", f"{name}={value}")]


def test_template_is_valid_and_formatted(tmp_path: Path) -> None:
    # Validation reads the ssh key; the other files are only passed to qemu.
    dummy = BootFiles(*(tmp_path / name for name in ("vmlinux", "initrd", "disk", "key")))
    keygen = ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(dummy.ssh_key)]
    subprocess.run(keygen, check=True)
    done = packer(tmp_path, "validate", *variables(dummy, tmp_path / "out"), str(TEMPLATE))
    assert done.returncode == 0, done.stdout + done.stderr
    done = packer(tmp_path, "fmt", "-check", "-diff", str(TEMPLATE))
    assert done.returncode == 0, f"packer fmt would change:\n{done.stdout}{done.stderr}"


def test_validate_catches_a_missing_variable(tmp_path: Path) -> None:
    done = packer(tmp_path, "validate", str(TEMPLATE))
    assert done.returncode != 0
    assert "base_image" in done.stdout + done.stderr


def test_build_makes_a_bootable_image(vm_files: BootFiles, boot_vm: BootVm, tmp_path: Path) -> None:
    # The guest has no pip index: install.sh takes everything from wheels.
    from tests.system.container.image import Unavailable, wheelhouse

    try:
        wheels = wheelhouse()
    except Unavailable as why:
        pytest.skip(str(why))
    output = tmp_path / "output"
    args = [*variables(vm_files, output), "-var", f"wheels_dir={wheels}"]
    # One vCPU and a boot wait stretched with the host's load, as the harness does.
    args += ["-var", "cpus=1", "-var", f"boot_timeout={int(180 * patience())}s"]
    done = packer(tmp_path, "build", *args, str(TEMPLATE), timeout=170 * patience())
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    image = output / "guestinit.raw"
    # guestinit powered the build's guest off: the image was unmounted clean.
    assert_clean(image)
    # The base image the build started from is left as it was.
    assert_clean(vm_files.disk)

    vm = boot_vm(files=dataclasses.replace(vm_files, disk=image))
    assert ssh_ok(vm, "guestinit --version").strip()
    assert "active (running)" in ssh_ok(vm, "guestinit ctl status ssh.service")
    assert vm.qmp is not None
    vm.qmp.execute("system_powerdown")
    assert vm.wait_exit(SHUTDOWN_TIMEOUT) == 0
    assert_clean(vm.disk)
