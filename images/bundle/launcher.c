/* The bundle's bin/guestinit: a static launcher that runs the bundle's own
 * Python (libexec/python3.11, whose ELF interpreter is the bundle's loader) on
 * guestinit's entry point. Static, so it needs nothing from the image: no
 * libc, no /proc (a VM's kernel starts init before anything is mounted).
 *
 * The personality is the basename of argv[0], as typed (never the resolved
 * link), like a native program's:
 *   guestinit, tini, dumb-init, systemctl, journalctl, anything else
 *                  python -I -S -c ENTRY: guestinit.cli.main picks its
 *                  personality from sys.argv[0], which ENTRY sets from
 *                  GUESTINIT_ARGV0 (the name as typed; dropped from the
 *                  environment before anything else runs)
 *   procshim       the same for procshim.cli.main
 *   python3        the bundle's Python itself, for the helper processes
 *                  guestinit starts with sys.executable (procshim, the VM
 *                  network helper): -s keeps the user's site out, and
 *                  FUSE_LIBRARY_PATH points mfusepy at the bundle's libfuse
 *                  (ctypes.util.find_library finds nothing in an image
 *                  without ldconfig)
 *
 * Built by build.sh with -DPREFIX="/opt/guestinit" (where the bundle lives in
 * the image: the Python binary's ELF interpreter is an absolute path there).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef PREFIX
#error "build with -DPREFIX=\"/opt/guestinit\""
#endif

#define PYTHON PREFIX "/libexec/python3.11"
/* sys.executable: this launcher's python3 personality, so that processes
 * guestinit starts with sys.executable come back through here. */
#define PYTHON_NAME PREFIX "/bin/python3"
#define LIBFUSE PREFIX "/lib/libfuse.so.2"

#define ENTRY(module)                                                                              \
    "import os, sys\n"                                                                             \
    "sys.path.insert(0, '" PREFIX "/lib/guestinit')\n"                                             \
    "sys.argv[0] = os.environ.pop('GUESTINIT_ARGV0', None) or 'guestinit'\n"                       \
    "from " module " import main\n"                                                                \
    "sys.exit(main())\n"

static const char *basename_of(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

int main(int argc, char **argv) {
    const char *typed = argc > 0 && argv[0][0] ? argv[0] : "guestinit";
    const char *name = basename_of(typed);
    int is_python = strcmp(name, "python3") == 0 || strcmp(name, "python") == 0;
    int is_procshim = strcmp(name, "procshim") == 0;

    /* Our words before the caller's, then theirs, then NULL. */
    char **args = calloc((size_t)argc + 6, sizeof(char *));
    if (args == NULL) {
        fprintf(stderr, "%s: out of memory\n", typed);
        return 127;
    }
    int n = 0;
    args[n++] = PYTHON_NAME;
    if (is_python) {
        args[n++] = "-s";
    } else {
        args[n++] = "-I";
        args[n++] = "-S";
        args[n++] = "-c";
        args[n++] = is_procshim ? ENTRY("procshim.cli") : ENTRY("guestinit.cli");
        if (setenv("GUESTINIT_ARGV0", typed, 1) != 0) {
            fprintf(stderr, "%s: cannot set GUESTINIT_ARGV0: %s\n", typed, strerror(errno));
            return 127;
        }
    }
    if ((is_python || is_procshim) && setenv("FUSE_LIBRARY_PATH", LIBFUSE, 0) != 0) {
        fprintf(stderr, "%s: cannot set FUSE_LIBRARY_PATH: %s\n", typed, strerror(errno));
        return 127;
    }
    for (int i = 1; i < argc; i++) {
        args[n++] = argv[i];
    }
    args[n] = NULL;
    execv(PYTHON, args);
    fprintf(stderr, "%s: cannot run %s: %s\n", typed, PYTHON, strerror(errno));
    return errno == ENOENT ? 127 : 126;
}
