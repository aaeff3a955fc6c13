/* How long from an init's exec to its main process's exec.
 *
 *   exec_clock stamp PROGRAM ARGS...  put CLOCK_MONOTONIC in EXEC_CLOCK_T0, exec PROGRAM
 *   exec_clock report                 print the microseconds since EXEC_CLOCK_T0
 *
 * "stamp" runs as PID 1 of a new namespace and execs the init there (so the
 * init is PID 1); the init's main process is "report", whose first
 * instruction ends the measurement.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc >= 3 && strcmp(argv[1], "stamp") == 0) {
        char value[32];
        snprintf(value, sizeof value, "%lld", now_ns());
        setenv("EXEC_CLOCK_T0", value, 1);
        execv(argv[2], argv + 2);
        perror(argv[2]);
        return 127;
    }
    if (argc == 2 && strcmp(argv[1], "report") == 0) {
        long long end = now_ns();
        const char *start = getenv("EXEC_CLOCK_T0");
        if (start == NULL) {
            fputs("exec_clock: EXEC_CLOCK_T0 is not set\n", stderr);
            return 2;
        }
        printf("exec_clock %lld\n", (end - atoll(start)) / 1000);
        return 0;
    }
    fputs("usage: exec_clock stamp PROGRAM ARGS... | exec_clock report\n", stderr);
    return 2;
}
