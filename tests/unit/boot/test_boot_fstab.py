"""fstab(5) text, mount options -> mount(2) flags, and the mount plans built on them."""

from guestinit.boot import fstab, mounts

FSTAB = """\
# <file system> <mount point> <type> <options> <dump> <pass>
/dev/vda / ext4 rw,errors=remount-ro 0 1
UUID=1234-abcd /srv/data ext4 defaults,nofail,noatime 0 2
tmpfs /var/tmp tmpfs mode=1777,size=10% 0 0
/dev/vdb none swap sw 0 0
/dev/vdc /mnt/with\\040space xfs noauto
/srv/data/www /var/www none bind,ro
broken-line
"""


def test_parse_fields_escapes_and_defaults() -> None:
    entries, warnings = fstab.parse(FSTAB)
    assert [e.target for e in entries] == [
        "/", "/srv/data", "/var/tmp", "none", "/mnt/with space", "/var/www",
    ]  # fmt: skip
    assert warnings == ["/etc/fstab:8: fewer than 3 fields, skipped"]
    root, data, _var_tmp, swap, spaced, www = entries
    assert root.passno == 1 and not root.read_only and root.line == 2
    assert data.nofail and data.spec == "UUID=1234-abcd"
    assert swap.is_swap and spaced.noauto and spaced.options == ("noauto",)
    assert www.is_bind and www.read_only
    assert fstab.parse("a /b c")[0][0].options == ("defaults",)


def test_mount_flags() -> None:
    assert fstab.mount_flags(("defaults",)) == (0, "")
    assert fstab.mount_flags(("ro", "nosuid", "nodev", "noexec")) == (1 | 2 | 4 | 8, "")
    # The last of ro/rw wins; file-system options pass through in order.
    assert fstab.mount_flags(("ro", "rw", "errors=remount-ro", "commit=5")) == (
        0,
        "errors=remount-ro,commit=5",
    )
    assert fstab.mount_flags(("nofail", "x-systemd.automount", "_netdev", "noatime")) == (1024, "")


def test_missing_api_mounts_only() -> None:
    mounted = mounts.mounted_targets("/dev/vda / ext4 rw 0 0\nproc /proc proc rw 0 0\n")
    plan = mounts.missing_api_mounts(mounted, [])
    targets = [m.target for m in plan]
    assert "/proc" not in targets
    assert targets == ["/sys", "/dev", "/dev/pts", "/dev/shm", "/run", "/tmp", "/sys/fs/cgroup"]
    assert plan[-1].fstype == "cgroup2"
    # fstab's own /tmp (on disk) replaces the tmpfs.
    entries, _ = fstab.parse("/dev/vdb /tmp ext4 defaults 0 2\n")
    assert "/tmp" not in [m.target for m in mounts.missing_api_mounts(mounted, entries)]


def test_mounted_targets_decode_escapes() -> None:
    assert mounts.mounted_targets("x /a\\040b tmpfs rw 0 0\n") == {"/a b"}


def test_root_remount_follows_fstab() -> None:
    entries, _ = fstab.parse(FSTAB)
    remount = mounts.root_remount(entries, root_read_only=True)
    assert remount is not None and remount.target == "/"
    assert remount.flags == 32 and remount.data == "errors=remount-ro"  # MS_REMOUNT, rw
    ro_entries, _ = fstab.parse("/dev/vda / ext4 ro 0 1\n")
    assert mounts.root_remount(ro_entries, root_read_only=True) is None
    # No fstab line for /: read-write, nothing to do when it already is.
    assert mounts.root_remount([], root_read_only=False) is None
    assert mounts.root_remount([], root_read_only=True) is not None


def test_fstab_mounts_skip_root_swap_noauto_and_mounted_and_go_parents_first() -> None:
    entries, _ = fstab.parse(FSTAB)
    plan = mounts.fstab_mounts(entries, mounted={"/var/tmp"})
    assert [m.target for m in plan] == ["/srv/data", "/var/www"]
    data, www = plan
    assert data.nofail and data.flags == 1024 and data.why == "/etc/fstab:3"
    assert www.flags & 4096 and www.flags & 1  # MS_BIND, read-only
    nested, _ = fstab.parse("/dev/b /a/b ext4 defaults\n/dev/a /a ext4 defaults\n")
    assert [m.target for m in mounts.fstab_mounts(nested, set())] == ["/a", "/a/b"]


def test_resolve_source_needs_a_link_for_uuids(tmp_path: object) -> None:
    assert mounts.resolve_source("/dev/vda") == "/dev/vda"
    assert mounts.resolve_source("UUID=no-such-uuid-here", str(tmp_path)) is None


def test_securityfs_and_debugfs_are_mounted_only_when_fstab_asks() -> None:
    assert not any(
        m.fstype in ("securityfs", "debugfs") for m in mounts.missing_api_mounts(set(), [])
    )
    entries, problems = fstab.parse(
        "securityfs /sys/kernel/security securityfs defaults 0 0\n"
        "debugfs /sys/kernel/debug debugfs nofail 0 0\n"
    )
    assert problems == []
    plan = mounts.fstab_mounts(entries, mounted=set())
    assert [(m.source, m.target, m.fstype, m.nofail) for m in plan] == [
        ("securityfs", "/sys/kernel/security", "securityfs", False),
        ("debugfs", "/sys/kernel/debug", "debugfs", True),
    ]
