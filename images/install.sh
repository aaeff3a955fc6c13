#!/bin/bash
# Installs guestinit into an image: a Packer shell provisioner, a Dockerfile
# RUN, or by hand. Running it again gives the same result (idempotent).
#
#   images/install.sh [--root DIR] [--from SRC] [--sbin-init] [--units a,b,...]
#                     [--python /usr/bin/python3] [--extras fuse,inspect,net]
#                     [--wheels DIR] [--pip 'CMD ...'] [--no-systemctl]
#   images/install.sh --bundle BUNDLE [--root DIR] [--sbin-init] [--units a,b,...]
#                     [--no-systemctl]
#
# What it puts into DIR (default /):
#   /usr/lib/guestinit/     guestinit and procshim with their Python
#                           dependencies (`pip install --target`), and units/,
#                           the shipped unit files (found there by guestinit)
#   /usr/share/guestinit/units -> ../../lib/guestinit/units (the documented path)
#   /usr/bin/guestinit, /usr/bin/procshim
#                           launchers: `#!PYTHON -IS`, so neither the
#                           environment nor the distribution's site-packages
#                           can change what runs as PID 1
#   /usr/bin/systemctl      -> guestinit (the systemctl shim), unless the image
#                           has a real systemctl or --no-systemctl is given
#                           (systemd-tmpfiles and journalctl: the same)
#   /etc/guestinit/units/U  a link per --units name: enabled, started at boot
#   /sbin/init              -> /usr/bin/guestinit, with --sbin-init (VM images)
#
# --from SRC    the guestinit source tree (default: the checkout holding this script)
# --python P    the image's interpreter, as seen inside the image (default
#               /usr/bin/python3); the launchers run it and the installed wheels
#               are chosen for its version
# --extras E    guestinit's optional dependencies to install (default
#               fuse,inspect,net: mfusepy for procshim, psutil, pyroute2 for VM
#               networking); "" for none
# --wheels DIR  install offline from the wheels in DIR (pip --no-index
#               --find-links DIR); a pip wheel there is used when no pip is
#               installed
# --pip CMD     the pip to run (default: PYTHON -m pip when it works, else the
#               host's python3 -m pip, else a pip wheel from --wheels)
# --bundle B    install the self-contained bundle B (images/bundle/build.sh's
#               OUTDIR) instead: no Python, pip or C library needed in the
#               image. B is copied to the prefix it was built for (normally
#               /opt/guestinit); /usr/bin/guestinit, /usr/bin/procshim and the
#               systemctl shim link to its bin/; enabled shipped units link to
#               its lib/guestinit/units. --python, --extras, --wheels, --pip
#               and --from do not apply.
#
# With --root, pip runs on the host and installs into DIR; when the host
# pip's Python differs from the image's, only wheels built for the image's
# version are accepted (--python-version X.Y --only-binary=:all:).
set -euo pipefail

say() { echo "install.sh: $*" >&2; }
die() { say "$*"; exit 1; }

here="$(cd "$(dirname "$0")" && pwd)"
root="/" src="$(cd "$here/.." && pwd)" sbin_init=0 units="" python="/usr/bin/python3"
extras="fuse,inspect,net" wheels="" pip_cmd="" systemctl_shim=1 bundle=""
while [ $# -gt 0 ]; do
    case "$1" in
        --root) root="$2"; shift 2 ;;
        --from) src="$2"; shift 2 ;;
        --sbin-init) sbin_init=1; shift ;;
        --units) units="$2"; shift 2 ;;
        --python) python="$2"; shift 2 ;;
        --extras) extras="$2"; shift 2 ;;
        --wheels) wheels="$(cd "$2" && pwd)"; shift 2 ;;
        --pip) pip_cmd="$2"; shift 2 ;;
        --no-systemctl) systemctl_shim=0; shift ;;
        --bundle) bundle="$(cd "$2" && pwd)"; shift 2 ;;
        -h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 0 ;;
        *) die "unknown argument $1 (see --help)" ;;
    esac
done
root="$(cd "$root" && pwd)"

# A path inside the image, as the host sees it. / and a relative symlink in
# the image (Debian's /sbin -> usr/sbin) resolve the same from both sides.
in_root() { if [ "$root" = / ]; then echo "$1"; else echo "$root$1"; fi; }

# Where the shipped units are: in the source tree (as the host sees it), and
# in the image once installed.
if [ -n "$bundle" ]; then
    [ -f "$bundle/lib/guestinit/bundle.txt" ] || die "$bundle is not a bundle (images/bundle/build.sh OUTDIR)"
    prefix="$(sed -n 's/^prefix //p' "$bundle/lib/guestinit/bundle.txt")"
    case "$prefix" in /?*) ;; *) die "$bundle/lib/guestinit/bundle.txt names no prefix" ;; esac
    units_source="$bundle/lib/guestinit/units"
    units_installed="$prefix/lib/guestinit/units"
else
    src="$(cd "$src" && pwd)"
    [ -f "$src/pyproject.toml" ] && [ -d "$src/guestinit" ] || die "$src is not a guestinit source tree"
    case "$python" in /*) ;; *) die "--python takes an absolute path inside the image" ;; esac
    [ -x "$(in_root "$python")" ] || die "no $python in $root (install python3 first)"
    units_source="$src/units"
    units_installed="/usr/lib/guestinit/units"
fi

# --units, checked before anything is built: NAME=SOURCE, SOURCE the path of
# the unit inside the image (ours when we ship one of that name, else the
# image's own, as systemctl enable would find it).
links=()
IFS=, read -r -a wanted <<<"$units"
for name in "${wanted[@]}"; do
    name="${name// /}"
    [ -n "$name" ] || continue
    case "$name" in *.*) ;; *) name="$name.service" ;; esac
    source=""
    # An instance (serial-getty@ttyS0.service) links to its template's file.
    file="$name"
    case "$name" in *@?*.*) file="${name%%@*}@.${name##*.}" ;; esac
    if [ -f "$units_source/$name" ]; then
        source="$units_installed/$name"
    elif [ -f "$units_source/$file" ]; then
        source="$units_installed/$file"
    else
        for folder in /etc/systemd/system /lib/systemd/system /usr/lib/systemd/system; do
            for candidate in "$name" "$file"; do
                if [ -f "$(in_root "$folder/$candidate")" ]; then
                    source="$folder/$candidate"
                    break 2
                fi
            done
        done
    fi
    [ -n "$source" ] || die "no unit $name (shipped: $(cd "$units_source" && ls -- *.service *.timer | paste -sd' ' -))"
    links+=("$name=$source")
done

# 4. The systemctl shim: only where no real systemctl would be shadowed.
#    (A function: both kinds of install end with it.)
# systemctl, systemd-tmpfiles (tmpfiles.d at boot, maintainer scripts) and
# journalctl (the per-unit log view): ours only where no real one would be
# shadowed; a link of ours (pip's or the bundle's) is replaced.
shim_links() { # WHERE: "guestinit" (a link beside it), or the bundle's bin folder
    [ "$systemctl_shim" = 1 ] || return 0
    local tool path target
    for tool in systemctl systemd-tmpfiles journalctl; do
        path="$(in_root "/usr/bin/$tool")"
        target="$1"
        [ "$1" = guestinit ] || target="$1/$tool"
        mkdir -p "$(dirname "$path")"
        case "$(readlink "$path" || true)" in
            guestinit | */guestinit/bin/"$tool") ln -sfn "$target" "$path" ;;
            *)
                if [ -e "$path" ]; then
                    say "leaving the image's own /usr/bin/$tool alone (no $tool shim)"
                else
                    ln -sfn "$target" "$path"
                fi
                ;;
        esac
    done
}

# 5. Enabled units: a link in /etc/guestinit/units each, to our shipped unit
#    or, when we ship none of that name, to the image's own.
# 6. PID 1 of a VM image.
enable_units_and_init() {
    local enabled sbin target link
    enabled="$(in_root /etc/guestinit/units)"
    mkdir -p "$enabled"
    for link in "${links[@]}"; do
        ln -sfn "${link#*=}" "$enabled/${link%%=*}"
        say "enabled ${link%%=*} -> ${link#*=}"
    done
    if [ "$sbin_init" = 1 ]; then
        sbin="$(in_root /sbin)"
        target="$(readlink "$sbin" || true)"
        # An absolute /sbin link would resolve on the host: follow it inside.
        case "$target" in /*) sbin="$(in_root "$target")" ;; esac
        mkdir -p "$sbin"
        ln -sfn /usr/bin/guestinit "$sbin/init"
        say "/sbin/init -> /usr/bin/guestinit"
    fi
}

# The bundle: one folder copied whole (swapped in by two renames, like the
# pip tree below), links to it; nothing runs in the image.
if [ -n "$bundle" ]; then
    installed="$(in_root "$prefix")"
    mkdir -p "$(dirname "$installed")"
    scratch="$(mktemp -d "$(dirname "$installed")/.guestinit-new.XXXXXX")"
    trap 'rm -rf "$scratch"' EXIT
    cp -a "$bundle" "$scratch/bundle"
    [ ! -e "$installed" ] || mv -T "$installed" "$scratch/old"
    mv -T "$scratch/bundle" "$installed"
    mkdir -p "$(in_root /usr/bin)"
    for name in guestinit procshim; do
        ln -sfn "$prefix/bin/$name" "$(in_root "/usr/bin/$name")"
    done
    mkdir -p "$(in_root /usr/share/guestinit)"
    ln -sfn "$units_installed" "$(in_root /usr/share/guestinit/units)"
    shim_links "$prefix/bin"
    enable_units_and_init
    say "guestinit bundle $(sed -n 's/^key //p' "$installed/lib/guestinit/bundle.txt") installed at $prefix in $root"
    exit 0
fi

# The image's Python version decides which wheels fit.
if [ "$root" = / ]; then
    guest_version="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
elif [ "$(id -u)" = 0 ]; then
    guest_version="$(chroot "$root" "$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
else
    # Without chroot: Debian's python3 is a link to python3.X.
    guest_version="$(readlink -f "$(in_root "$python")" | sed -n 's/.*python\([0-9]*\.[0-9]*\)$/\1/p')"
fi
[ -n "$guest_version" ] || die "cannot tell the version of $python in $root"

# The pip to run, as an array; its interpreter's version.
pip=()
if [ -n "$pip_cmd" ]; then
    read -r -a pip <<<"$pip_cmd"
elif [ "$root" = / ] && "$python" -m pip --version >/dev/null 2>&1; then
    pip=("$python" -m pip)
elif [ "$root" != / ] && command -v python3 >/dev/null && python3 -m pip --version >/dev/null 2>&1; then
    pip=(python3 -m pip)
elif [ -n "$wheels" ] && compgen -G "$wheels/pip-*.whl" >/dev/null; then
    # pip runs from its own wheel: images without python3-pip need nothing more.
    runner="$python"
    [ "$root" = / ] || runner="python3"
    pip=("$runner" "$(compgen -G "$wheels/pip-*.whl" | sort -V | tail -n 1)/pip")
else
    die "no pip: install python3-pip, pass --pip CMD, or --wheels DIR holding a pip wheel"
fi
# "pip X from ... (python 3.11)": the version pip installs for by default.
pip_version="$("${pip[@]}" --version | sed -n 's/.*(python \([0-9]*\.[0-9]*\))$/\1/p')"
[ -n "$pip_version" ] || die "cannot run ${pip[*]}"

pip_options=(--disable-pip-version-check --no-input --quiet)
# pip warns about running as root; in an image build that is the norm.
export PIP_ROOT_USER_ACTION=ignore
[ -z "$wheels" ] || pip_options+=(--no-index --find-links "$wheels")

lib="$(in_root /usr/lib)"
mkdir -p "$lib"
scratch="$(mktemp -d "$lib/.guestinit-new.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT

# 1. guestinit's own wheel (pure Python), then that wheel with its extras into
#    a fresh folder: an upgrade never mixes old and new files. The wheel is
#    built by pip's Python for the image's: being pure, the builder's own
#    version need not meet Requires-Python.
wheel_options=()
[ "$pip_version" = "$guest_version" ] || wheel_options+=(--ignore-requires-python)
say "building guestinit from $src"
"${pip[@]}" wheel "${pip_options[@]}" "${wheel_options[@]}" --no-deps --wheel-dir "$scratch/wheel" "$src" >&2
wheel="$(compgen -G "$scratch/wheel/guestinit-*.whl" | head -n 1)"
[ -n "$wheel" ] || die "pip built no guestinit wheel"
requirement="$wheel"
[ -z "$extras" ] || requirement="$wheel[$extras]"
target_options=(--target "$scratch/lib")
if [ "$pip_version" != "$guest_version" ]; then
    say "pip runs Python $pip_version, the image has $guest_version: binary wheels for $guest_version only"
    # pip checks a local wheel's Requires-Python against its own Python,
    # not --python-version: the tags chosen for $guest_version decide instead.
    target_options+=(--python-version "$guest_version" --only-binary=:all: --implementation cp)
    target_options+=(--ignore-requires-python)
fi
say "installing guestinit${extras:+[$extras]} for Python $guest_version"
"${pip[@]}" install "${pip_options[@]}" "${target_options[@]}" "$requirement" >&2

# pip --target also unpacks console scripts (bin/, with pip's own shebang) and
# the wheel's data (share/): the launchers below replace the first, units/
# the second.
rm -rf "$scratch/lib/bin" "$scratch/lib/share"
mkdir -p "$scratch/lib/units"
for unit in "$src"/units/*; do
    case "$unit" in
        *.service | *.timer | *.socket | *.target | *.path) cp -p "$unit" "$scratch/lib/units/" ;;
        # Extra Wants= of a unit (links to our own units), e.g. network-online.target's.
        *.wants) cp -pPR "$unit" "$scratch/lib/units/" ;;
    esac
done
find "$scratch/lib" -name __pycache__ -prune -exec rm -rf {} +
[ -f "$scratch/lib/guestinit/cli.py" ] || die "the installed tree has no guestinit/cli.py"

# 2. Swap the new tree in: two renames, so the folder is never half-written.
#    A guestinit already running still imports some modules lazily: restart
#    it after an upgrade.
installed="$lib/guestinit"
if [ -e "$installed" ]; then
    mv -T "$installed" "$scratch/old"
fi
mv -T "$scratch/lib" "$installed"
# Bytecode made now, by the image's own interpreter, at the final paths:
# guestinit as PID 1 starts in about the time of a bare interpreter.
compile=("$python" -m compileall -q -j 0 /usr/lib/guestinit)
if [ "$root" = / ]; then
    "${compile[@]}" >&2 || say "compileall failed; Python compiles on first use instead"
elif [ "$(id -u)" = 0 ]; then
    chroot "$root" "${compile[@]}" >&2 || say "compileall failed; Python compiles on first use instead"
fi
mkdir -p "$(in_root /usr/share/guestinit)"
ln -sfn ../../lib/guestinit/units "$(in_root /usr/share/guestinit/units)"

# 3. Launchers: -I ignores PYTHON* variables and the user's site, -S the
#    distribution's site-packages; our folder is the only one added.
write_launcher() { # NAME MODULE
    local path
    path="$(in_root "/usr/bin/$1")"
    mkdir -p "$(dirname "$path")"
    cat >"$path.new" <<EOF
#!$python -IS
# Installed by guestinit's images/install.sh; run it again to upgrade.
import sys

sys.path.insert(0, "/usr/lib/guestinit")
from $2 import main

sys.exit(main())
EOF
    chmod 0755 "$path.new"
    mv -f "$path.new" "$path"
}
write_launcher guestinit guestinit.cli
write_launcher procshim procshim.cli

shim_links guestinit
enable_units_and_init

say "guestinit $(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$installed/guestinit/__init__.py") installed in $root"
