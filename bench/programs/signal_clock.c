/* Main process for the signal-latency row: records CLOCK_MONOTONIC inside its
 * SIGUSR1 handler and prints it (nanoseconds, one line per delivery), so the
 * bench can subtract the time it took just before kill(). Prints "ready" once
 * the handler is installed. SIGTERM ends it (default action).
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t delivered;
static struct timespec delivered_at;

static void on_usr1(int number) {
    (void)number;
    clock_gettime(CLOCK_MONOTONIC, &delivered_at); /* async-signal-safe */
    delivered = 1;
}

static void say(const char *text) {
    /* write(2), not stdio: every line must leave at once */
    size_t length = strlen(text);
    if (write(STDOUT_FILENO, text, length) != (ssize_t)length) _exit(1);
}

int main(void) {
    sigset_t usr1, waiting;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    /* Blocked outside sigsuspend, so no delivery can slip in between the
     * check and the wait. */
    sigprocmask(SIG_BLOCK, &usr1, &waiting);
    sigdelset(&waiting, SIGUSR1);

    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_usr1;
    sigaction(SIGUSR1, &action, NULL);
    say("ready\n");

    char line[32];
    for (;;) {
        while (!delivered) sigsuspend(&waiting);
        delivered = 0;
        long long ns = delivered_at.tv_sec * 1000000000LL + delivered_at.tv_nsec;
        snprintf(line, sizeof line, "%lld\n", ns);
        say(line);
    }
}
