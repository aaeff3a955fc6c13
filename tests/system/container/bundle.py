"""The self-contained bundle's images, built offline for the podman tests.

- the bundle itself: images/bundle/build.sh (cached by its inputs there);
- the stage image: images/docker/Dockerfile.bundle, its builder stage on the
  local debootstrap base (no registry here) and handed the prebuilt bundle;
- the scratch image: the stage image plus a static test program (testprog.c);
- the busybox image: Debian's static busybox and a unit file, FROM scratch,
  the bundle copied in with the README's `COPY --from=` line.

Every image is tagged by a hash of its inputs and rebuilt only when one
changes; older tags of our repositories are removed (in our own store).
"""

import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.system.container import image, rootfs
from tests.system.container.podman import CACHE, Podman

BUILD_SH = rootfs.REPO / "images/bundle/build.sh"
DOCKERFILE = rootfs.REPO / "images/docker/Dockerfile.bundle"
TESTPROG_C = Path(__file__).with_name("testprog.c")
BUSYBOX = Path("/bin/busybox")  # Debian's busybox-static: one static binary
PREFIX = "/opt/guestinit"
ENTRYPOINT = f'["{PREFIX}/bin/guestinit", "--"]'
STAGE_REPOSITORY = "localhost/guestinit-test-bundle"
SCRATCH_REPOSITORY = "localhost/guestinit-test-bundle-scratch"
BUSYBOX_REPOSITORY = "localhost/guestinit-test-bundle-busybox"
BUILD_TIMEOUT = 600  # build.sh's first run downloads; later ones take seconds
# The busybox image's applets (links to /bin/busybox) and its one unit.
APPLETS = ("sh", "cat", "echo", "free", "ps", "sleep", "kill", "ls", "umount", "mount")
UNIT = """\
[Unit]
Description=A unit of the busybox image

[Service]
ExecStart=/bin/sh -c 'echo hello from a unit; exec sleep 1000'
"""


class Unavailable(Exception):
    """The images cannot be made here: skip."""


def unavailable_reason() -> str | None:
    for program in ("gcc", "patchelf", "apt-get"):
        if shutil.which(program) is None:
            return f"{program} is not installed (tests/setup.sh installs it)"
    if not BUSYBOX.exists():
        return f"no {BUSYBOX} (apt-get install busybox-static)"
    return None


def build_bundle(into: Path) -> Path:
    """build.sh's tree at INTO (cached by build.sh; a copy when unchanged)."""
    done = subprocess.run(
        ["bash", str(BUILD_SH), str(into)],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"build.sh failed:\n{done.stderr[-4000:]}")
    return into


def bundle_key(bundle: Path) -> str:
    """The key build.sh wrote first in bundle.txt (a hash of every input)."""
    first = (bundle / "lib/guestinit/bundle.txt").read_text().splitlines()[0]
    assert first.startswith("key "), first
    return first.removeprefix("key ")


def testprog() -> Path:
    """testprog.c linked statically, cached by its source."""
    source = TESTPROG_C.read_bytes()
    target = CACHE / f"bundle-testprog-{hashlib.sha256(source).hexdigest()[:16]}"
    if not target.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        scratch = target.with_name(f".{target.name}.{id(source)}")
        gcc = ["gcc", "-static", "-Os", "-Wall", "-Werror", "-o", str(scratch), str(TESTPROG_C)]
        subprocess.run(gcc, check=True, timeout=120)
        scratch.replace(target)
    return target


def _digest(*parts: bytes | str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def _build(podman: Podman, name: str, context: Path, containerfile: Path, *args: str) -> None:
    podman.run(
        "build", "--format", "docker", "--network", "none", *args,
        "-f", str(containerfile), "-t", name, str(context),
        timeout=BUILD_TIMEOUT,
    )  # fmt: skip


def stage_image(podman: Podman, bundle: Path) -> str:
    """Dockerfile.bundle's image: FROM scratch, the bundle at /opt/guestinit."""
    base = image.base_image(podman)
    name = f"{STAGE_REPOSITORY}:{_digest(bundle_key(bundle), base, DOCKERFILE.read_bytes())}"
    if podman.image_exists(name):
        return name
    with tempfile.TemporaryDirectory(prefix="guestinit-bundle-context.") as folder:
        context = Path(folder)
        shutil.copytree(bundle, context / "bundle", symlinks=True)
        (context / "images/docker").mkdir(parents=True)
        shutil.copy2(DOCKERFILE, context / "images/docker")
        _build(podman, name, context, context / "images/docker" / DOCKERFILE.name,
               "--build-arg", f"BUILDER={base}")  # fmt: skip
    _drop_other_tags(podman, STAGE_REPOSITORY, keep=name)
    return name


def scratch_image(podman: Podman, stage: str) -> str:
    """The stage image and a static test program: nothing else in it."""
    program = testprog()
    containerfile = f"FROM {stage}\nCOPY testprog /testprog\n"
    name = f"{SCRATCH_REPOSITORY}:{_digest(stage, program.name, containerfile)}"
    if podman.image_exists(name):
        return name
    with tempfile.TemporaryDirectory(prefix="guestinit-scratch-context.") as folder:
        context = Path(folder)
        shutil.copy2(program, context / "testprog")
        (context / "Containerfile").write_text(containerfile)
        _build(podman, name, context, context / "Containerfile")
    _drop_other_tags(podman, SCRATCH_REPOSITORY, keep=name)
    return name


def busybox_image(podman: Podman, stage: str) -> str:
    """Debian's static busybox, one enabled unit, and the bundle copied in as
    the README shows; /opt/guestinit/bin on PATH for the typed-name checks."""
    containerfile = (
        "FROM scratch\n"
        "COPY rootfs/ /\n"
        f"COPY --from={stage} {PREFIX} {PREFIX}\n"
        f"ENV PATH={PREFIX}/bin:/bin\n"
        f"ENTRYPOINT {ENTRYPOINT}\n"
    )
    busybox = BUSYBOX.read_bytes()
    name = f"{BUSYBOX_REPOSITORY}:{_digest(stage, busybox, UNIT, containerfile, *APPLETS)}"
    if podman.image_exists(name):
        return name
    with tempfile.TemporaryDirectory(prefix="guestinit-busybox-context.") as folder:
        context = Path(folder)
        root = context / "rootfs"
        (root / "bin").mkdir(parents=True)
        shutil.copy2(BUSYBOX, root / "bin/busybox")
        for applet in APPLETS:
            (root / "bin" / applet).symlink_to("busybox")
        units = root / "etc/guestinit/units"
        units.mkdir(parents=True)
        (units / "hello.service").write_text(UNIT)
        for folder_name in ("proc", "sys", "dev", "run", "tmp"):
            (root / folder_name).mkdir()
        (root / "tmp").chmod(0o1777)
        (context / "Containerfile").write_text(containerfile)
        _build(podman, name, context, context / "Containerfile")
    _drop_other_tags(podman, BUSYBOX_REPOSITORY, keep=name)
    return name


def _drop_other_tags(podman: Podman, repository: str, keep: str) -> None:
    for tag in podman.images_named(repository):
        if tag != keep:
            podman.run("rmi", tag, check=False)  # in use by a running test: kept
