"""Run inside `unshare --mount --fork`: the boot's mount steps on a scratch root,
then the shutdown's unmounts; prints what was mounted as JSON lines.

    python mount_steps.py ROOT FSTAB
"""

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from guestinit import _log
from guestinit.boot import _libc, fstab, mounts, shutdown


def under(root: str) -> list[tuple[str, str]]:
    with open("/proc/self/mounts") as file:
        text = file.read()
    found = []
    for line in text.splitlines():
        _, target, fstype = line.split()[:3]
        target = fstab._unescape(target)
        if target == root or target.startswith(root + "/"):
            found.append((target[len(root) :] or "/", fstype))
    return found


def main() -> None:
    root, fstab_text = sys.argv[1], Path(sys.argv[2]).read_text()
    _libc.mount("tmpfs", root, "tmpfs", 0, "mode=0755")
    entries, warnings = fstab.parse(fstab_text)
    mounter = mounts.Mounter(root)
    mounted = {t for t, _ in under(root)}
    for item in mounts.missing_api_mounts(mounted, entries):
        mounter.mount(item)
    mounter.link_dev()
    failures = []
    for item in mounts.fstab_mounts(entries, {t for t, _ in under(root)}):
        try:
            mounter.mount(item)
        except OSError as error:
            failures.append([item.target, item.nofail, str(error)])
    print(json.dumps({"mounted": under(root), "failures": failures, "warnings": warnings}))
    print(json.dumps({"links": {n: os.readlink(root + n) for n, _ in mounts.DEV_LINKS}}))
    # Shutdown: everything below root, innermost first, then root itself.
    with open("/proc/self/mounts") as file:
        plan = [u for u in shutdown.unmount_plan(file.read()) if u.target.startswith(root + "/")]
    left = shutdown.execute_unmounts(plan, _log.Log(_log.WARNING))
    print(json.dumps({"after": under(root), "writable": left}))


if __name__ == "__main__":
    main()
