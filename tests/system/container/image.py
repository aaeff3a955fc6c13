"""The image under test: images/docker/Dockerfile.bookworm, built offline.

No registry is reachable, so the Dockerfile's BASE is a local image: the
cached debootstrap rootfs (rootfs.py) imported with `podman import`. Its
Python wheels come from the host's pip index into a wheelhouse/ in the build
context, which the Dockerfile hands to images/install.sh. Both images are
tagged by a hash of their inputs and rebuilt only when one changes; older tags
of our two repositories are removed (by name, in our own store).
"""

import hashlib
import os
import shutil
import subprocess
import tempfile
import tomllib
from pathlib import Path

from tests.system.container import rootfs
from tests.system.container.podman import CACHE, Podman

BASE_REPOSITORY = "localhost/guestinit-test-base"
IMAGE_REPOSITORY = "localhost/guestinit-test"
DOCKERFILE = rootfs.REPO / "images/docker/Dockerfile.bookworm"
# What of the checkout goes into the build context (as the Dockerfile COPYs it).
CONTEXT_PATHS = ("pyproject.toml", "README.md", "guestinit", "fuse", "units", "images/install.sh")
RUNTIME_EXTRAS = ("fuse", "inspect", "net")  # install.sh's default --extras
BUILD_TIMEOUT = 600
# py3 and abi3 wheels for bookworm's Python, whatever runs the tests.
PIP_DOWNLOAD = ["python3", "-m", "pip", "download", "--quiet", "--only-binary=:all:"]
PIP_DOWNLOAD += ["--python-version", "3.11"]


class Unavailable(Exception):
    """The image cannot be made here (no pip index to fill the wheelhouse): skip."""


def wheel_requirements() -> list[str]:
    """What pip needs offline inside the build: pip itself, guestinit's build
    backend, and the runtime extras install.sh installs (from pyproject.toml)."""
    with open(rootfs.REPO / "pyproject.toml", "rb") as file:
        project = tomllib.load(file)
    extras = project["project"].get("optional-dependencies", {})
    wanted = ["pip", *project["build-system"]["requires"], *project["project"]["dependencies"]]
    for extra in RUNTIME_EXTRAS:
        wanted.extend(extras.get(extra, []))
    return sorted(set(wanted))


def wheelhouse() -> Path:
    """The wheels, downloaded once per requirement list (py3 / abi3 wheels: the
    host's pip runs Python 3.11, as bookworm's does)."""
    requirements = wheel_requirements()
    digest = hashlib.sha256("\n".join(requirements).encode()).hexdigest()[:16]
    target = CACHE / f"container-wheels-{digest}"
    if target.is_dir():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".container-wheels.", dir=CACHE))
    try:
        done = subprocess.run(
            [*PIP_DOWNLOAD, "--dest", str(scratch), *requirements],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            raise Unavailable(f"pip download of {requirements} failed:\n{done.stderr[-2000:]}")
        os.rename(scratch, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def _tree_digest(paths: list[Path]) -> str:
    """A hash of every file's relative path and content below PATHS."""
    digest = hashlib.sha256()
    for top in paths:
        files = [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file())
        for path in files:
            if "__pycache__" in path.parts or path.suffix == ".pyc":
                continue
            digest.update(str(path.relative_to(top.parent)).encode() + b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _make_context(into: Path, wheels: Path) -> None:
    """A snapshot of the checkout (it may change while we build) plus wheels."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in CONTEXT_PATHS:
        source, target = rootfs.REPO / name, into / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=ignore)
        else:
            shutil.copy2(source, target)
    (into / "images/docker").mkdir(parents=True, exist_ok=True)
    for path in (DOCKERFILE, DOCKERFILE.with_name(DOCKERFILE.name + ".dockerignore")):
        shutil.copy2(path, into / "images/docker" / path.name)
    shutil.copytree(wheels, into / "wheelhouse")


def base_image(podman: Podman) -> str:
    """The rootfs as a local image, tagged by the rootfs's own content key."""
    tree = rootfs.build_rootfs()
    name = f"{BASE_REPOSITORY}:{tree.name.rsplit('-', 1)[-1]}"
    if not podman.image_exists(name):
        podman.popen_import(tree, name)
        _drop_other_tags(podman, BASE_REPOSITORY, keep=name)
    return name


def guestinit_image(podman: Podman) -> str:
    """The image built from Dockerfile.bookworm on the local base."""
    base = base_image(podman)
    wheels = wheelhouse()
    with tempfile.TemporaryDirectory(prefix="guestinit-context.") as folder:
        context = Path(folder)
        _make_context(context, wheels)
        key = _tree_digest([context / "images", *(context / n for n in CONTEXT_PATHS[:5])])
        key = hashlib.sha256(f"{key} {base} {wheels.name}".encode()).hexdigest()[:16]
        name = f"{IMAGE_REPOSITORY}:{key}"
        if podman.image_exists(name):
            return name
        podman.run(
            "build",
            "--format", "docker",  # OCI images have no HEALTHCHECK
            "--network", "none",  # offline, as the tests promise
            "--build-arg", f"BASE={base}",
            "-f", str(context / "images/docker" / DOCKERFILE.name),
            "-t", name,
            str(context),
            timeout=BUILD_TIMEOUT,
        )  # fmt: skip
    _drop_other_tags(podman, IMAGE_REPOSITORY, keep=name)
    return name


def _drop_other_tags(podman: Podman, repository: str, keep: str) -> None:
    for tag in podman.images_named(repository):
        if tag != keep:
            podman.run("rmi", tag, check=False)  # in use by a running test: kept
