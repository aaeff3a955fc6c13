#!/bin/bash
# Builds guestinit's self-contained bundle: guestinit and procshim with their
# own Python, standard library, C library, dynamic loader, libfuse and Python
# packages, in one folder that runs at PREFIX (default /opt/guestinit) in an
# image with no Python and no C library (FROM scratch, busybox).
#
#   images/bundle/build.sh [--prefix /opt/guestinit] [--from SRC] OUTDIR
#
# OUTDIR gets the tree to copy to PREFIX in the image:
#   bin/guestinit           static launcher (launcher.c): runs libexec/python3.11
#                           on guestinit's entry point, keeping argv[0] as typed
#   bin/{tini,dumb-init,systemctl,journalctl,procshim,python3} -> guestinit
#   libexec/python3.11      Debian's python3.11, its ELF interpreter patched to
#                           PREFIX/lib/ld-linux-x86-64.so.2, RUNPATH PREFIX/lib
#   lib/                    the loader and the shared libraries (Debian's)
#   lib/python3.11/         the standard library (less tests, GUI, ssl, sqlite...)
#   lib/guestinit/          guestinit, procshim, mfusepy, psutil, pyroute2, units/
#   lib/guestinit/bundle.txt
#                           what went in: Debian package versions, wheels, key
#
# Inputs: the Debian packages below at the versions apt offers now (fetched
# with apt-get download), the wheels pinned in requirements.txt (pip
# download), the guestinit source tree (SRC, default this checkout), this
# script and launcher.c. The finished tree is cached under
#   ${GUESTINIT_TEST_CACHE:-/var/cache/guestinit-test}/bundle-<hash of the inputs>
# with the downloads beside it: an unchanged input costs a copy, a changed one
# a rebuild (about half a minute once the downloads are cached). Same inputs,
# same bytes: fixed mtimes, bytecode with unchecked hashes (no timestamps).
# Needs gcc (static glibc: libc6-dev), patchelf, apt-get, python3 -m pip.
set -euo pipefail

say() { echo "bundle: $*" >&2; }
die() { say "$*"; exit 1; }
usage() { echo "usage: $0 [--prefix /opt/guestinit] [--from SRC] OUTDIR" >&2; exit 2; }

here="$(cd "$(dirname "$0")" && pwd)"
src="$(cd "$here/../.." && pwd)"
prefix=/opt/guestinit
outdir=""
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix="$2"; shift 2 ;;
        --from) src="$(cd "$2" && pwd)"; shift 2 ;;
        -h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 0 ;;
        -*) usage ;;
        *) [ -z "$outdir" ] || usage; outdir="$1"; shift ;;
    esac
done
[ -n "$outdir" ] || usage
case "$prefix" in /*) ;; *) die "--prefix takes an absolute path" ;; esac
[ -f "$src/pyproject.toml" ] && [ -d "$src/guestinit" ] || die "$src is not a guestinit source tree"
for tool in gcc patchelf apt-get dpkg-deb python3; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
done

cache="${GUESTINIT_TEST_CACHE:-/var/cache/guestinit-test}"
# The interpreter and what it and the kept extension modules load. Their
# libraries are found by NEEDED below; a package missing here fails the build.
PACKAGES=(python3.11-minimal libpython3.11-minimal libpython3.11-stdlib libc6 zlib1g libexpat1
          libffi8 libfuse2 libbz2-1.0 liblzma5 libuuid1 libssl3 libsqlite3-0)
# Extension modules left out: tests, and those that would bring libraries
# nothing here uses (curses, readline, Berkeley DB, NIS, crypt). pyroute2
# imports ssl and sqlite3 when imported at all: those stay.
DROP_MODULES="_test* _ctypes_test* xxlimited* _xxtestfuzz* _xxsubinterpreters* _curses* readline*
              _dbm* nis* _crypt* audioop* ossaudiodev*"
# Standard-library folders and files left out: tests, GUI, packaging and
# documentation tools, servers nothing here runs, decimal's pure-Python
# fallback (the C module is there).
DROP_STDLIB="test idlelib tkinter turtledemo turtle.py ensurepip lib2to3 pydoc_data pydoc.py
             distutils venv dbm curses __phello__ config-3.11-x86_64-linux-gnu site-packages
             dist-packages sitecustomize.py xmlrpc wsgiref _pydecimal.py"
EPOCH=1700000000 # every file's mtime: the tree is the same byte for byte

# ---- 1. The inputs and their key ---------------------------------------------------
# One apt-cache call for all (each takes seconds on a busy machine).
pins=()
while read -r package version; do
    if [ -z "$version" ] || [ "$version" = "(none)" ]; then
        version="$(dpkg-query -W -f '${Version}' "$package" 2>/dev/null || true)"
    fi
    [ -n "$version" ] || die "apt knows no $package (apt-get update first)"
    pins+=("$package=$version")
done < <(apt-cache policy "${PACKAGES[@]}" | awk '
    /^[^ ]/ { sub(/:(amd64)?$/, ""); package = $0 }
    /^  Candidate:/ { print package, $2 }')
[ ${#pins[@]} = ${#PACKAGES[@]} ] || die "apt-cache policy did not list all of ${PACKAGES[*]}"
source_digest="$(
    cd "$src" && find guestinit fuse/procshim units -type f ! -name '*.pyc' ! -path '*/__pycache__/*' \
        -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16
)"
key="$(
    { echo "$prefix ${pins[*]} $source_digest"; cat "$0" "$here/launcher.c" "$here/requirements.txt"; } \
        | sha256sum | cut -c1-16
)"
target="$cache/bundle-$key"

deliver() {
    # OUTDIR is replaced, but only when it is empty or an earlier bundle.
    if [ -e "$outdir" ] && [ -n "$(ls -A "$outdir")" ] && [ ! -f "$outdir/lib/guestinit/bundle.txt" ]; then
        die "$outdir is not empty and holds no bundle: not replacing it"
    fi
    rm -rf "$outdir"
    mkdir -p "$(dirname "$outdir")"
    cp -a "$target" "$outdir"
    say "$outdir: guestinit bundle $key for $prefix"
}

mkdir -p "$cache"
if [ -d "$target" ]; then
    deliver
    exit 0
fi
exec 9>"$target.lock"
flock 9
if [ -d "$target" ]; then
    deliver
    exit 0
fi
started=$SECONDS
scratch="$(mktemp -d "$cache/.bundle-$key.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
out="$scratch/out"
deb="$scratch/deb"
mkdir -p "$out" "$deb"

# ---- 2. Downloads (cached: .debs by name and version, wheels by requirements) ----
debs="$cache/bundle-debs"
mkdir -p "$debs"
for pin in "${pins[@]}"; do
    package="${pin%%=*}" version="${pin#*=}"
    file="$(compgen -G "$debs/${package}_${version//:/%3a}_*.deb" | head -n 1 || true)"
    if [ -z "$file" ]; then
        say "apt-get download $pin"
        (cd "$debs" && flock /tmp/apt.lock apt-get download -qq -o APT::Sandbox::User=root "$pin" >&2)
        file="$(compgen -G "$debs/${package}_${version//:/%3a}_*.deb" | head -n 1)"
    fi
    dpkg-deb -x "$file" "$deb"
done
wheels="$cache/bundle-wheels-$(sha256sum "$here/requirements.txt" | cut -c1-16)"
if [ ! -d "$wheels" ]; then
    say "pip download $(grep -v '^#' "$here/requirements.txt" | paste -sd' ' -)"
    mkdir -p "$scratch/wheels"
    PIP_ROOT_USER_ACTION=ignore python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
        --python-version 3.11 --implementation cp --abi cp311 --abi abi3 --abi none \
        --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform any \
        --dest "$scratch/wheels" -r "$here/requirements.txt" 2> >(grep -v "^WARNING: Location" >&2)
    mv -T "$scratch/wheels" "$wheels"
fi

# ---- 3. The tree ---------------------------------------------------------------------
mkdir -p "$out/bin" "$out/libexec" "$out/lib/guestinit/units"
cp "$deb/usr/bin/python3.11" "$out/libexec/python3.11"
cp -a "$deb/usr/lib/python3.11" "$out/lib/python3.11"
for name in $DROP_STDLIB; do rm -rf "${out:?}/lib/python3.11/$name"; done
(cd "$out/lib/python3.11/lib-dynload" && for pattern in $DROP_MODULES; do rm -f -- $pattern; done)

# guestinit as install.sh lays it out (/usr/lib/guestinit there): the
# packages, then the wheels' contents, then the shipped units.
cp -r "$src/guestinit" "$src/fuse/procshim" "$out/lib/guestinit/"
PIP_ROOT_USER_ACTION=ignore PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install --quiet --disable-pip-version-check --no-deps --no-index --no-compile \
    --target "$out/lib/guestinit" "$wheels"/*.whl 2> >(grep -v "^WARNING: Location" >&2)
rm -rf "$out/lib/guestinit/bin"
# pip records the wheel's path (in this cache): gone, the tree does not
# depend on where the build ran.
for record in "$out"/lib/guestinit/*.dist-info/RECORD; do
    sed -i '/direct_url\.json/d' "$record"
done
rm -f "$out"/lib/guestinit/*.dist-info/direct_url.json
for unit in "$src"/units/*; do
    case "$unit" in
        *.service | *.timer | *.socket | *.target | *.path) cp -p "$unit" "$out/lib/guestinit/units/" ;;
        *.wants) cp -pPR "$unit" "$out/lib/guestinit/units/" ;;
    esac
done
find "$out/lib" -name __pycache__ -prune -exec rm -rf {} +

# The shared libraries: what the interpreter and every kept extension module
# need, and what those need, found in the extracted packages.
find_library() {
    local folder
    for folder in lib/x86_64-linux-gnu usr/lib/x86_64-linux-gnu lib64; do
        [ -e "$deb/$folder/$1" ] && { echo "$deb/$folder/$1"; return 0; }
    done
    return 1
}
cp -L "$(find_library ld-linux-x86-64.so.2)" "$(find_library libfuse.so.2)" "$out/lib/"
while :; do
    added=0
    while IFS= read -r -d '' elf; do
        for needed in $(patchelf --print-needed "$elf"); do
            [ -e "$out/lib/$needed" ] && continue
            found="$(find_library "$needed")" || die "$elf needs $needed: in no package of PACKAGES"
            cp -L "$found" "$out/lib/$needed"
            added=1
        done
    done < <(find "$out/libexec" "$out/lib" -type f -name '*.so*' -print0 -o -type f -path '*/libexec/*' -print0)
    [ "$added" = 1 ] || break
done
chmod 0755 "$out/lib/"*.so*

# Every ELF finds its libraries in PREFIX/lib and the interpreter its loader
# there: nothing comes from the image. Absolute paths, not $ORIGIN: the loader
# resolves $ORIGIN through /proc/self/exe, and a VM's kernel starts init
# before /proc is mounted (the loader's path is absolute anyway).
patchelf --set-interpreter "$prefix/lib/ld-linux-x86-64.so.2" --set-rpath "$prefix/lib" \
    "$out/libexec/python3.11"
while IFS= read -r -d '' elf; do
    [ -n "$(patchelf --print-needed "$elf" | grep -vx 'libc.so.6\|libm.so.6\|ld-linux-x86-64.so.2')" ] || continue
    patchelf --set-rpath "$prefix/lib" "$elf"
done < <(find "$out/lib" -type f -name '*.so*' ! -name 'ld-linux*' -print0)

# The launcher, static: it runs where nothing else can (no libc, no /proc).
gcc -static -Os -s -Wall -Werror -DPREFIX="\"$prefix\"" -o "$out/bin/guestinit" "$here/launcher.c"
for name in tini dumb-init systemctl journalctl systemd-tmpfiles runlevel procshim python3; do
    ln -s guestinit "$out/bin/$name"
done

# Bytecode by the bundle's own interpreter (its loader named explicitly: the
# tree is not at PREFIX yet), recorded under PREFIX's paths, checked by no
# timestamp: reproducible, and nothing stats the sources at start. The
# standard library is kept as bytecode only (beside where its sources were,
# which Python imports without them): 10 MB less, and tracebacks still name
# file and line. guestinit, procshim and the wheels keep their sources.
bundle_python() {
    "$out/lib/ld-linux-x86-64.so.2" --library-path "$out/lib" "$out/libexec/python3.11" -I -S -B "$@"
}
compile=(-m compileall -q -j 0 --invalidation-mode unchecked-hash -s "$out" -p "$prefix")
bundle_python "${compile[@]}" -b "$out/lib/python3.11" >&2
find "$out/lib/python3.11" -name '*.py' -delete
# What compileall's own imports cached (stale without sources, and timestamped).
find "$out/lib/python3.11" -name __pycache__ -prune -exec rm -rf {} +
bundle_python "${compile[@]}" "$out/lib/guestinit" >&2

# A smoke test: every module guestinit loads lazily imports in the bundle.
FUSE_LIBRARY_PATH="$out/lib/libfuse.so.2" bundle_python -c "
import sys; sys.path.insert(0, '$out/lib/guestinit')
import guestinit.cli, guestinit.manager, guestinit.boot.network, procshim.cli, procshim.serve
import mfusepy, psutil, pyroute2, ssl, sqlite3, ctypes, hashlib, lzma, bz2, uuid, decimal
"

{
    echo "key $key"
    echo "prefix $prefix"
    echo "source $source_digest"
    printf 'deb %s\n' "${pins[@]}"
    (cd "$wheels" && printf 'wheel %s\n' *.whl)
} >"$out/lib/guestinit/bundle.txt"
find "$out" -exec touch -h -d "@$EPOCH" {} +

mv -T "$out" "$target"
say "built $target in $((SECONDS - started)) s ($(du -sh "$target" | cut -f1))"
# Older bundles of this cache (other checkouts, earlier sources): the newest 6 stay.
ls -1dt "$cache"/bundle-????????????????  | tail -n +7 | while read -r old; do
    rm -rf "$old" "$old.lock"
done
deliver
