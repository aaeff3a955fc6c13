"""tmpfiles.d without systemd: ``systemd-tmpfiles`` for images that lack it.

Layout, in the order a configuration flows through it:

- ``parse``    one file's text -> typed lines (pure; every complaint names file:line)
- ``plan``     lines of every file -> what to do, in which order (pure): ``!`` lines
               only with ``--boot``, prefixes, duplicate paths, parents first
- ``config``   the disk side of reading: /etc, /run, /usr/local/lib, /usr/lib
               precedence, masking by name (a /dev/null link or an empty file)
- ``apply``    the side effects: mkdir, write, symlink, chmod/chown, remove
- ``command``  the ``systemd-tmpfiles`` command line (``guestinit tmpfiles``)

Why our own and not always Debian's ``systemd-standalone-tmpfiles``: that
package conflicts with ``systemd`` and is in no base image, and an image
must not need systemd. Where a real ``systemd-tmpfiles`` is installed it is
the one on PATH and the boot unit runs it (it also knows ACLs, attributes,
subvolumes and age-based cleaning); ours is linked in its place only where
none exists (images/install.sh), as the systemctl shim is.

Ages are parsed and then ignored: ``--clean`` cleans nothing (says so).
"""
