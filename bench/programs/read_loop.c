/* open + read to EOF + close of one file, in a loop: latency samples, or
 * throughput with several threads.
 *
 *   read_loop latency PATH COUNT        prints one line per sample: nanoseconds
 *   read_loop throughput PATH THREADS SECONDS
 *                                       prints the total opens completed
 *
 * C so that the reader's own cost is small next to the server's. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char *path;
static volatile int stop;

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int read_once(char *buf, size_t size) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n;
    while ((n = read(fd, buf, size)) > 0)
        ;
    close(fd);
    return n < 0 ? -1 : 0;
}

static void *worker(void *arg) {
    long *count = arg;
    char buf[65536];
    while (!stop) {
        if (read_once(buf, sizeof buf) == 0)
            (*count)++;
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: read_loop latency PATH COUNT | throughput PATH THREADS SECONDS\n");
        return 2;
    }
    path = argv[2];
    if (strcmp(argv[1], "latency") == 0) {
        int count = atoi(argv[3]);
        char buf[65536];
        for (int i = 0; i < count; i++) {
            long long start = now_ns();
            if (read_once(buf, sizeof buf) != 0) {
                perror(path);
                return 1;
            }
            printf("%lld\n", now_ns() - start);
        }
        return 0;
    }
    if (strcmp(argv[1], "throughput") == 0 && argc == 5) {
        int threads = atoi(argv[3]);
        int seconds = atoi(argv[4]);
        pthread_t ids[64];
        long counts[64] = {0};
        if (threads < 1 || threads > 64)
            return 2;
        for (int i = 0; i < threads; i++)
            pthread_create(&ids[i], NULL, worker, &counts[i]);
        sleep((unsigned)seconds);
        stop = 1;
        long total = 0;
        for (int i = 0; i < threads; i++) {
            pthread_join(ids[i], NULL);
            total += counts[i];
        }
        printf("%ld\n", total);
        return 0;
    }
    fprintf(stderr, "read_loop: unknown mode %s\n", argv[1]);
    return 2;
}
