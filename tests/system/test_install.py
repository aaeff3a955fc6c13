"""images/install.sh into a real Debian root, run by that root's own Python.

The root is an overlay over the cached rootfs (images/build-rootfs.sh), so
every test starts from a clean image and the cache is never written. The
installed launchers run under chroot with the image's /usr/bin/python3 —
Debian's 3.11 — never the host's.
"""

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from guestinit import __version__
from tests.system.container import bundle, rootfs

INSTALL = rootfs.REPO / "images/install.sh"
INSTALL_TIMEOUT = 300  # pip builds guestinit's wheel: seconds, unless the index is slow

pytestmark = pytest.mark.skipif(
    rootfs.unavailable_reason() is not None, reason=str(rootfs.unavailable_reason())
)


@pytest.fixture(scope="module")
def base_rootfs() -> Path:
    return rootfs.build_rootfs()


@pytest.fixture
def image_root(base_rootfs: Path, tmp_path: Path) -> Iterator[Path]:
    """A writable copy-on-write view of the rootfs."""
    upper, work, root = tmp_path / "upper", tmp_path / "work", tmp_path / "root"
    for folder in (upper, work, root):
        folder.mkdir()
    options = f"lowerdir={base_rootfs},upperdir={upper},workdir={work}"
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o", options, str(root)], check=True)
    try:
        yield root
    finally:
        subprocess.run(["umount", "-l", str(root)], check=False)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A snapshot of the checkout's sources: the installs compared below must
    see the same files even while the checkout is being edited."""
    copy = tmp_path_factory.mktemp("source")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("guestinit", "fuse", "units"):
        shutil.copytree(rootfs.REPO / name, copy / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(rootfs.REPO / name, copy / name)
    return copy


def install(root: Path, source: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(INSTALL), "--root", str(root), "--from", str(source), *args],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
        check=False,
    )


def in_image(root: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """argv under chroot, with nothing of the host's Python environment."""
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "PYTHONPATH": "/nonexistent"}
    return subprocess.run(
        ["chroot", str(root), *argv],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def tree(root: Path, under: str) -> dict[str, str]:
    """Every file and link below root/under: its content's size or link target
    (bytecode left out: it is made on use)."""
    found: dict[str, str] = {}
    base = root / under.lstrip("/")
    for folder, dirs, files in os.walk(base):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            path = Path(folder) / name
            key = str(path.relative_to(root))
            link = path.is_symlink()
            found[key] = f"-> {os.readlink(path)}" if link else str(path.stat().st_size)
    return found


def test_install_twice_gives_the_same_image_and_the_launcher_runs(
    image_root: Path, source: Path
) -> None:
    first = install(image_root, source)
    assert first.returncode == 0, first.stderr
    installed = tree(image_root, "/usr/lib/guestinit")
    launcher = (image_root / "usr/bin/guestinit").read_text()

    again = install(image_root, source)
    assert again.returncode == 0, again.stderr
    assert tree(image_root, "/usr/lib/guestinit") == installed
    assert (image_root / "usr/bin/guestinit").read_text() == launcher
    assert not list((image_root / "usr/lib").glob(".guestinit-new.*")), "scratch left behind"

    # A shebang passes its flags as one word: -IS, not -I -S.
    assert launcher.splitlines()[0] == "#!/usr/bin/python3 -IS"
    assert any(name.startswith("usr/lib/guestinit/mfusepy") for name in installed)
    assert "usr/lib/guestinit/units/ssh.service" in installed
    # network-online.target's extra Wants= (for the distribution's target file).
    wants = "usr/lib/guestinit/units/network-online.target.wants/guestinit-wait-online.service"
    assert wants in installed and (image_root / wants).is_file()

    version = in_image(image_root, "/usr/bin/guestinit", "--version")
    assert (version.returncode, version.stdout) == (0, f"guestinit {__version__}\n")
    ran = in_image(image_root, "/usr/bin/guestinit", "--", "true")
    assert ran.returncode == 0, ran.stderr
    failed = in_image(image_root, "/usr/bin/guestinit", "--", "sh", "-c", "exit 3")
    assert failed.returncode == 3, failed.stderr
    # The image's interpreter, and it finds procshim and its FUSE binding.
    which = in_image(
        image_root,
        "/usr/bin/python3",
        "-IS",
        "-c",
        "import sys; sys.path.insert(0, '/usr/lib/guestinit'); "
        "import procshim, mfusepy, psutil; print(sys.version_info[:2] >= (3, 11))",
    )
    assert (which.returncode, which.stdout) == (0, "True\n"), which.stderr
    shim = in_image(image_root, "/usr/bin/procshim", "--help")
    assert shim.returncode == 0, shim.stderr
    assert "serve" in shim.stdout


def test_units_sbin_init_and_the_systemctl_shim(image_root: Path, source: Path) -> None:
    done = install(image_root, source, "--units", "ssh,cron,rsyslog,logrotate.timer", "--sbin-init")
    assert done.returncode == 0, done.stderr
    enabled = image_root / "etc/guestinit/units"
    assert sorted(os.listdir(enabled)) == [
        "cron.service",
        "logrotate.timer",
        "rsyslog.service",
        "ssh.service",
    ]
    for link in enabled.iterdir():
        target = os.readlink(link)
        assert target == f"/usr/lib/guestinit/units/{link.name}"
        assert (image_root / target.lstrip("/")).is_file()
    assert os.readlink(image_root / "usr/bin/systemctl") == "guestinit"
    # Debian's /sbin is a link to usr/sbin: the init link lands inside the image.
    init = in_image(image_root, "readlink", "-f", "/sbin/init")
    assert init.stdout.strip() == "/usr/bin/guestinit"

    # The shim answers from the links alone, as systemctl does in a chroot.
    assert in_image(image_root, "systemctl", "is-enabled", "ssh.service").stdout == "enabled\n"
    version = in_image(image_root, "systemctl", "--version")
    assert re.match(r"systemd \d+ \(guestinit ", version.stdout), version.stdout

    # systemd-tmpfiles and journalctl: the image has neither, so they are ours.
    assert os.readlink(image_root / "usr/bin/journalctl") == "guestinit"
    assert os.readlink(image_root / "usr/bin/systemd-tmpfiles") == "guestinit"
    config = image_root / "usr/lib/tmpfiles.d/guestinit-test.conf"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("d /var/lib/guestinit-test 0750 nobody -\n")
    made = in_image(image_root, "systemd-tmpfiles", "--create", "guestinit-test.conf")
    assert made.returncode == 0, made.stderr
    assert (image_root / "var/lib/guestinit-test").stat().st_mode & 0o777 == 0o750

    # Running again adds nothing and breaks nothing.
    again = install(image_root, source, "--units", "ssh", "--sbin-init")
    assert again.returncode == 0, again.stderr
    assert len(os.listdir(enabled)) == 4


def test_a_template_instance_links_to_the_template(image_root: Path, source: Path) -> None:
    done = install(image_root, source, "--units", "serial-getty@ttyS0")
    assert done.returncode == 0, done.stderr
    link = image_root / "etc/guestinit/units/serial-getty@ttyS0.service"
    assert os.readlink(link) == "/usr/lib/guestinit/units/serial-getty@.service"
    shown = in_image(image_root, "systemctl", "is-enabled", "serial-getty@ttyS0.service")
    assert shown.stdout == "enabled\n", shown.stderr


def test_an_unknown_unit_is_refused_by_name(image_root: Path, source: Path) -> None:
    done = install(image_root, source, "--units", "no-such-daemon")
    assert done.returncode != 0
    assert "no unit no-such-daemon.service" in done.stderr


def test_build_rootfs_is_cached_and_prints_only_its_path(base_rootfs: Path) -> None:
    again = subprocess.run(
        [str(rootfs.BUILD_ROOTFS), rootfs.ROOTFS_NAME, *reversed(rootfs.ROOTFS_PACKAGES)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert again.stdout == f"{base_rootfs}\n"  # package order does not matter
    assert (base_rootfs / "usr/bin/python3").exists()
    assert (base_rootfs / "usr/sbin/sshd").exists()


def other_python_pip() -> str | None:
    """A pip whose Python is not the image's 3.11 (pyenv's, on these machines)."""
    candidates = [shutil.which(f"python3.{minor}") for minor in (12, 13, 10)]
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates += [str(p) for p in sorted(pyenv.glob("3.1[023].*/bin/python3"), reverse=True)]
    for python in filter(None, candidates):
        probe = subprocess.run(
            [python, "-m", "pip", "--version"], capture_output=True, text=True, check=False
        )
        if probe.returncode == 0 and "(python 3.11)" not in probe.stdout:
            return f"{python} -m pip"
    return None


def test_a_host_pip_of_another_python_installs_wheels_for_the_image_s(
    image_root: Path, source: Path
) -> None:
    pip = other_python_pip()
    if pip is None:
        pytest.skip("no pip of a Python other than 3.11 on this host")
    done = install(image_root, source, "--pip", pip)
    assert done.returncode == 0, done.stderr
    assert "binary wheels for 3.11 only" in done.stderr
    # psutil's compiled part loads in the image's 3.11.
    imported = in_image(
        image_root,
        "/usr/bin/python3",
        "-IS",
        "-c",
        "import sys; sys.path.insert(0, '/usr/lib/guestinit'); "
        "import psutil._psutil_linux, mfusepy, guestinit.cli; print('ok')",
    )
    assert (imported.returncode, imported.stdout) == (0, "ok\n"), imported.stderr


@pytest.fixture(scope="module")
def built_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    why = bundle.unavailable_reason()
    if why is not None:
        pytest.skip(why)
    return bundle.build_bundle(tmp_path_factory.mktemp("bundle") / "guestinit")


def install_bundle(root: Path, built: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(INSTALL), "--root", str(root), "--bundle", str(built), *args],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
        check=False,
    )


def test_the_bundle_installs_into_an_empty_root_and_runs_there(
    built_bundle: Path, tmp_path: Path
) -> None:
    root = tmp_path / "root"
    root.mkdir()
    done = install_bundle(root, built_bundle)
    assert done.returncode == 0, done.stderr
    assert os.readlink(root / "usr/bin/guestinit") == "/opt/guestinit/bin/guestinit"
    assert os.readlink(root / "usr/bin/systemctl") == "/opt/guestinit/bin/systemctl"
    # No libc, no Python, no shell, no /proc in this root: the bundle and links.
    assert sorted(os.listdir(root)) == ["etc", "opt", "usr"]
    version = in_image(root, "/usr/bin/guestinit", "--version")
    assert (version.returncode, version.stdout) == (0, f"guestinit {__version__}\n"), version
    code = "import sys; print(sys.prefix); sys.exit(4)"
    ran = in_image(root, "/usr/bin/guestinit", "--", "/opt/guestinit/bin/python3", "-c", code)
    assert (ran.returncode, ran.stdout) == (4, "/opt/guestinit\n"), ran.stderr
    shim = in_image(root, "/usr/bin/procshim", "--help")
    assert shim.returncode == 0 and "serve" in shim.stdout, shim.stderr

    # Again, now with a unit and /sbin/init: the same tree, links added.
    before = tree(root, "/opt/guestinit")
    again = install_bundle(root, built_bundle, "--units", "ssh", "--sbin-init")
    assert again.returncode == 0, again.stderr
    assert tree(root, "/opt/guestinit") == before
    assert not list((root / "opt").glob(".guestinit-new.*")), "scratch left behind"
    assert os.readlink(root / "sbin/init") == "/usr/bin/guestinit"
    enabled = root / "etc/guestinit/units/ssh.service"
    assert os.readlink(enabled) == "/opt/guestinit/lib/guestinit/units/ssh.service"
    assert (root / "opt/guestinit/lib/guestinit/units/ssh.service").is_file()
    shown = in_image(root, "systemctl", "is-enabled", "ssh.service")
    assert shown.stdout == "enabled\n", shown.stderr


def test_pip_and_bundle_installs_replace_each_other(
    image_root: Path, source: Path, built_bundle: Path
) -> None:
    first = install_bundle(image_root, built_bundle)
    assert first.returncode == 0, first.stderr
    ran = in_image(image_root, "/usr/bin/guestinit", "--", "sh", "-c", "exit 3")
    assert ran.returncode == 3, ran.stderr
    assert os.readlink(image_root / "usr/bin/systemctl") == "/opt/guestinit/bin/systemctl"

    pip = install(image_root, source)
    assert pip.returncode == 0, pip.stderr
    launcher = (image_root / "usr/bin/guestinit").read_text()
    assert launcher.splitlines()[0] == "#!/usr/bin/python3 -IS"
    assert os.readlink(image_root / "usr/bin/systemctl") == "guestinit"
    version = in_image(image_root, "/usr/bin/guestinit", "--version")
    assert version.stdout == f"guestinit {__version__}\n", version.stderr
