"""VM guest mode: what PID 1 does when it boots a machine, not a container.

Pure parts (no I/O; unit-tested) and the side effects they plan are kept apart::

    detect.py     are we a machine's init? (PID 1 of the initial PID namespace, no
                  container markers) -- facts in, verdict out; ``probe()`` reads them
    cmdline.py    /proc/cmdline words, ``hostname=``, the kernel's ``ip=`` syntax
    fstab.py      /etc/fstab text -> entries
    netconfig.py  /etc/guestinit/network text -> interface plans
    mounts.py     which API file systems are missing, fstab mounts; the Mounter
    blockid.py    UUID=/LABEL= from ext4/XFS superblocks (no udev, no /dev/disk links)
    system.py     hostname, machine-id, entropy seed, loopback, PATH, modules-load.d
    power.py      signal -> power action table; reboot(2) and RB_DISABLE_CAD
    powerkey.py   input event records -> KEY_POWER presses (the ACPI button)
    network.py    the network helper *process* (pyroute2: waits, static addresses)
    dhcp.py       its DHCP part (pyroute2's asyncio client, renewals until SIGTERM)
    machine.py    the loop's view of the machine: power key fds, network helper
    shutdown.py   after the loop: unmount plan (innermost first), sync, reboot(2)
    run.py        boot, loop, shutdown; a fatal error ends in an emergency shell
    _libc.py      mount(2), umount2(2), reboot(2) through ctypes

PID 1 itself never imports pyroute2 and never waits on the network: the helper
process does, and the loop reaps it like any child.
"""
