#!/bin/bash
# Installs what guestinit's demo and test suite need on a fresh Debian 12 machine
# (root). Idempotent: packages already present and an up-to-date venv are reused.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: the anchors we compare with (tini, dumb-init, supervisor),
# unshare and ps from util-linux/procps, the venv module for Debian's Python,
# the real daemons the service tests run (their units unmodified), FUSE and lxcfs
# for the resource shim, and the real runtimes of the end-to-end tests (podman with
# runc, qemu under TCG, packer, debootstrap for their root filesystems).
PACKAGES=(tini dumb-init util-linux bsdutils procps psmisc python3 python3-venv gcc hyperfine
          openssh-server openssh-client cron rsyslog logrotate
          mariadb-server haproxy php8.2-fpm
          fuse3 libfuse2 lxcfs
          podman runc slirp4netns debootstrap qemu-system-x86 qemu-utils e2fsprogs xfsprogs packer
          uuid-runtime
          patchelf busybox-static zstd)
missing=()
for package in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    apt-get update -qq
    # Installing daemons must not start them on this machine: a policy-rc.d
    # that says "no" for the length of the install, unless one exists already.
    guard=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        guard=/usr/sbin/policy-rc.d
        printf '#!/bin/sh\nexit 101\n' > "$guard"
        chmod 755 "$guard"
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    if [ -n "$guard" ]; then rm -f "$guard"; fi
fi

# The venv: the project (editable) with its test tools. Rebuilt when
# pyproject.toml changes. GUESTINIT_PYTHON picks the interpreter.
PYTHON="${GUESTINIT_PYTHON:-$(command -v python3)}"
PYTHON="$("$PYTHON" -c 'import sys; print(sys.executable)')"
stamp=".venv/.pyproject-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -e "$stamp" ]; then
    echo "setup: creating .venv with $PYTHON"
    rm -rf .venv
    "$PYTHON" -m venv .venv
    .venv/bin/pip install -q --disable-pip-version-check --upgrade pip
    .venv/bin/pip install -q --disable-pip-version-check -e ".[test]"
    touch "$stamp"
fi
