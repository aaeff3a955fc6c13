/* TEST-ONLY launcher: keeps argv[0] as typed for guestinit's Python entry.
 * A script's interpreter sees only the script's path as argv[0]; this passes
 * the typed name in GUESTINIT_ARGV0 (guestinit removes it from its own
 * environment at once) and execs GUESTINIT_TARGET, compiled in with
 * -DGUESTINIT_TARGET='"/path/to/.venv/bin/guestinit"'. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char *argv[]) {
    (void)argc;
    if (setenv("GUESTINIT_ARGV0", argv[0], 1) != 0) {
        perror("setenv");
        return 125;
    }
    execv(GUESTINIT_TARGET, argv);
    perror(GUESTINIT_TARGET);
    return 127;
}
