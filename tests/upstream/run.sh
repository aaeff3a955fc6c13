#!/bin/bash
# Run tini's and dumb-init's own test suites against Debian's binaries
# ("real") and against guestinit through the test launcher ("ours").
# Nothing of theirs is kept in this repository: their sources are taken from
# git directories given here (clones, or bare mirrors) into a temp dir.
#
#   tests/upstream/run.sh [real|ours|both]
#   TINI_GIT=/path/tini.git DUMB_INIT_GIT=/path/dumb-init.git tests/upstream/run.sh
#
# Needs: gcc, libcap-dev and python3-dev (python-prctl builds for tini's
# suite), network or a package index for a throwaway venv. Every run is inside
# a new PID namespace whose init is Debian's tini (a plain reaper): outside
# one, orphans become zombies of this machine's PID 1 and dumb-init's suite
# counts them as living processes.
set -euo pipefail
which=${1:-both}
here=$(cd "$(dirname "$0")/../.." && pwd)
tini_git=${TINI_GIT:-/work/.mirror/krallin+tini/repo}
dumb_git=${DUMB_INIT_GIT:-/work/.mirror/Yelp+dumb-init/repo}
work=$(mktemp -d /tmp/guestinit-upstream.XXXXXX)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/tini" "$work/dumb-init"
git --git-dir="$tini_git" archive HEAD | tar -x -C "$work/tini"
git --git-dir="$dumb_git" archive HEAD | tar -x -C "$work/dumb-init"
chmod +x "$work"/tini/test/*.py "$work"/tini/test/*/*.py

/usr/bin/python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q pytest 'pytest-timeout<2.0.0' psutil python-prctl bitmap

"$here/.venv/bin/python" - "$work/ours" <<'PY'
import sys
from pathlib import Path
from tests.launcher import build
for name in ("tini", "dumb-init"):
    build(Path(sys.argv[1]), name)
PY
mkdir -p "$work/real"
cp /usr/bin/tini /usr/bin/dumb-init "$work/real/"
for side in real ours; do
    gcc -o "$work/$side/sigconf-test" "$work/tini/test/sigconf/sigconf-test.c"
done

namespace=(unshare --pid --fork --mount-proc /usr/bin/tini --)
for side in real ours; do
    [ "$which" = both ] || [ "$which" = "$side" ] || continue
    echo "=== dumb-init suite, $side"
    (cd "$work/dumb-init" && "${namespace[@]}" env PATH="$work/$side:$PATH" \
        "$work/venv/bin/python" -m pytest -q -p no:cacheprovider -rf tests 2>&1 | tail -15) || true
    for force in 0 1; do
        echo "=== tini suite, $side, FORCE_SUBREAPER=$force"
        (cd "$work/tini" && "${namespace[@]}" env PATH="$work/venv/bin:$PATH" \
            SOURCE_DIR="$work/tini" BUILD_DIR="$work/$side" FORCE_SUBREAPER=$force \
            python3 test/run_inner_tests.py 2>&1 | tail -3) || true
    done
done
