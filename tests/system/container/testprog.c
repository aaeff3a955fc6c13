/* The main process of the bundle's scratch-image tests, linked statically
 * (the image has no C library but the bundle's own, which is not on any
 * search path):
 *   testprog exit N   print a line, exit with N
 *   testprog serve    orphan a grandchild that exits once it has been
 *                     reparented (a zombie only PID 1 can reap), then wait
 *                     for SIGTERM and exit 0 from its handler
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t terminated;

static void on_term(int number) {
    (void)number;
    terminated = 1;
}

static void orphan(void) {
    pid_t child = fork();
    if (child < 0) {
        perror("testprog: fork");
        exit(1);
    }
    if (child == 0) {
        pid_t parent = getpid();
        pid_t grandchild = fork();
        if (grandchild == 0) {
            /* Exit only once adopted: our zombie is then PID 1's to reap. */
            while (getppid() == parent) {
                usleep(1000);
            }
            printf("testprog: orphan %d reparented to %d\n", (int)getpid(), (int)getppid());
            fflush(stdout);
            _exit(0);
        }
        _exit(grandchild < 0 ? 1 : 0);
    }
    waitpid(child, NULL, 0);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc == 3 && strcmp(argv[1], "exit") == 0) {
        printf("testprog: exiting %s\n", argv[2]);
        return atoi(argv[2]);
    }
    if (argc == 2 && strcmp(argv[1], "serve") == 0) {
        struct sigaction action;
        memset(&action, 0, sizeof action);
        action.sa_handler = on_term;
        sigaction(SIGTERM, &action, NULL);
        /* Blocked until sigsuspend: a SIGTERM right after "ready" is not lost. */
        sigset_t term, waiting;
        sigemptyset(&term);
        sigaddset(&term, SIGTERM);
        sigprocmask(SIG_BLOCK, &term, &waiting);
        orphan();
        printf("testprog: ready as pid %d\n", (int)getpid());
        while (!terminated) {
            sigsuspend(&waiting);
        }
        printf("testprog: got SIGTERM\n");
        return 0;
    }
    fprintf(stderr, "usage: testprog exit N | testprog serve\n");
    return 2;
}
