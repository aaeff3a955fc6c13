#!/bin/bash
# Builds a Debian bookworm root file system with extra packages, caches it, and
# prints its path (the only line on stdout; progress goes to stderr).
#
#   images/build-rootfs.sh NAME [PACKAGE...]
#
# The tree is `debootstrap --variant=minbase bookworm` plus PACKAGEs (and what
# they depend on, not what they recommend), cached as
#   ${GUESTINIT_TEST_CACHE:-/var/cache/guestinit-test}/rootfs-NAME-<hash>
# where the hash covers the package list, the suite, the mirror and this
# script, so a changed input builds a new tree and an unchanged one costs a
# lookup. The tree is built in a scratch folder beside its final place and
# renamed into it, under a lock: two runs racing for the same tree build it
# once, and nobody ever sees a half-built one.
#
# Environment: GUESTINIT_TEST_CACHE (the cache folder), DEBIAN_MIRROR (default:
# the first bookworm mirror in /etc/apt/sources.list or sources.list.d),
# DEBIAN_SUITE (default bookworm). Needs root and debootstrap.
set -euo pipefail

usage() { echo "usage: $0 NAME [PACKAGE...]" >&2; exit 2; }
[ $# -ge 1 ] || usage
name="$1"
shift
case "$name" in '' | *[!A-Za-z0-9._-]*) echo "build-rootfs: NAME must be [A-Za-z0-9._-]+" >&2; exit 2 ;; esac

suite="${DEBIAN_SUITE:-bookworm}"
cache="${GUESTINIT_TEST_CACHE:-/var/cache/guestinit-test}"

# The mirror the host itself uses: deb822 files (URIs:/Suites:) and one-line
# "deb URI SUITE ..." entries both count; the first that serves $suite wins.
host_mirror() {
    local file
    for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$file" ] || continue
        awk -v suite="$suite" '$1 == "deb" {
                i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
                if ($(i + 1) == suite) { print $i; exit }
            }' "$file"
    done
    for file in /etc/apt/sources.list.d/*.sources; do
        [ -f "$file" ] || continue
        # One stanza per blank-line-separated paragraph.
        awk -v suite="$suite" 'BEGIN { RS = ""; FS = "\n" } {
                uri = ""; ok = 0
                for (i = 1; i <= NF; i++) {
                    if ($i ~ /^URIs:/) { split($i, w, " "); uri = w[2] }
                    if ($i ~ /^Suites:/) { n = split($i, w, " "); for (j = 2; j <= n; j++) if (w[j] == suite) ok = 1 }
                }
                if (ok && uri != "") { print uri; exit }
            }' "$file"
    done
}
mirror="${DEBIAN_MIRROR:-$(host_mirror | head -n 1)}"
mirror="${mirror:-http://deb.debian.org/debian}"

# Sorted and de-duplicated, so "a b" and "b a" share a tree.
packages="$(printf '%s\n' "$@" | sed '/^$/d' | sort -u | paste -sd, -)"
digest="$(
    { echo "$suite $mirror $packages"; cat "$0"; } | sha256sum | cut -c1-16
)"
target="$cache/rootfs-$name-$digest"

if [ -d "$target" ]; then
    echo "$target"
    exit 0
fi

[ "$(id -u)" = 0 ] || { echo "build-rootfs: needs root (debootstrap)" >&2; exit 1; }
command -v debootstrap >/dev/null || {
    echo "build-rootfs: debootstrap is not installed (apt-get install debootstrap)" >&2
    exit 1
}
mkdir -p "$cache"

# One builder per tree: a second run waits here, then finds the tree made.
exec 9>"$target.lock"
flock 9
if [ -d "$target" ]; then
    echo "$target"
    exit 0
fi

scratch="$(mktemp -d "$cache/.rootfs-$name-$digest.XXXXXX")"
trap 'rm -rf --one-file-system "$scratch"' EXIT
echo "build-rootfs: debootstrap $suite from $mirror${packages:+ with $packages} (about a minute)" >&2
debootstrap --variant=minbase ${packages:+--include="$packages"} \
    "$suite" "$scratch/root" "$mirror" >&2

# Downloaded .debs are not part of the image; the package lists stay, so apt
# inside still knows what is installed and where it came from.
rm -rf "$scratch/root/var/cache/apt/archives/"*.deb
# debootstrap leaves the host's resolv.conf and hostname behind; an image
# gets its own from its runtime.
: > "$scratch/root/etc/resolv.conf"
echo "$name" > "$scratch/root/etc/hostname"

mv -T "$scratch/root" "$target"
echo "build-rootfs: built $target" >&2
echo "$target"
