/* Main process for the reap-burst row: forks COUNT children that each fork a
 * grandchild and exit at once, so COUNT orphans are re-parented to PID 1.
 * Then waits until nothing but PID 1 and itself is left in this PID namespace
 * (no zombie, no orphan still running) and prints, in nanoseconds,
 * "FORKS_DONE ALL_REAPED" measured from the first fork.
 *
 * Protocol with the bench, so it can read the init's CPU time around the burst
 * alone: print "ready", wait for a line on stdin, burst, print the result, then
 * exit when stdin closes.
 *
 * usage: orphan_burst COUNT [TIMEOUT_S]   (exit 1 on timeout)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Processes in this namespace other than PID 1 and us (zombies included). */
static int others_left(pid_t self) {
    DIR *proc = opendir("/proc");
    if (!proc) return -1;
    int left = 0;
    struct dirent *entry;
    while ((entry = readdir(proc))) {
        char *end;
        long pid = strtol(entry->d_name, &end, 10);
        if (*end == '\0' && pid > 1 && pid != self) left++;
    }
    closedir(proc);
    return left;
}

static void pause_briefly(long ns) {
    struct timespec ts = {0, ns};
    nanosleep(&ts, NULL);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s COUNT [TIMEOUT_S]\n", argv[0]);
        return 2;
    }
    int count = atoi(argv[1]);
    long long timeout_ns = (argc > 2 ? atoll(argv[2]) : 120) * 1000000000LL;
    pid_t self = getpid();
    /* Our own children are reaped by the kernel at once, so every zombie that
     * appears belongs to PID 1. */
    signal(SIGCHLD, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    char line[64];
    printf("ready\n");
    if (!fgets(line, sizeof line, stdin)) return 1;

    long long start = now_ns();
    for (int i = 0; i < count; i++) {
        pid_t child = fork();
        if (child == 0) {
            /* Back to the default, or the grandchild would be auto-reaped too. */
            signal(SIGCHLD, SIG_DFL);
            if (fork() == 0) _exit(0);
            _exit(0);
        }
        if (child < 0) {
            if (errno != EAGAIN) { perror("fork"); return 1; }
            i--; /* pid or memory pressure: let the init catch up */
            pause_briefly(1000000);
        }
    }
    long long forks_done = now_ns() - start;

    int left;
    while ((left = others_left(self)) != 0) {
        if (now_ns() - start > timeout_ns) {
            fprintf(stderr, "orphan_burst: %d processes still left\n", left);
            return 1;
        }
        pause_briefly(500000); /* 0.5 ms: poll often, but leave the CPU to the init */
    }
    printf("%lld %lld\n", forks_done, now_ns() - start);
    while (fgets(line, sizeof line, stdin)) {
    }
    return 0;
}
