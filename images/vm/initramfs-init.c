/* The whole initramfs of the test VMs: load the modules the root file system
 * needs (Debian builds virtio_blk and ext4 as modules), mount root= and hand
 * over to its init. A static binary of our own instead of busybox or
 * initramfs-tools: nothing to install on the host, and it boots in
 * milliseconds.
 *
 * Kernel command line: root=/dev/vda (required), rootfstype= (ext4),
 * rw or ro (ro), init= (/sbin/init); our own arguments (the kernel's words
 * for init) are passed on to that init. Modules come from /modules.list, one
 * path per line, dependencies first (images/vm/build-kernel.py writes it).
 * Every failure names its step on the console and drops into a loop: PID 1
 * must not exit, and a panic hides the message behind the kernel's. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define ARG_MAX_LEN 256

static void fail(const char *step) {
    fprintf(stderr, "initramfs: %s: %s\n", step, strerror(errno));
    for (;;)
        pause();
}

static void say(const char *what, const char *detail) {
    fprintf(stderr, "initramfs: %s %s\n", what, detail);
}

/* Copies the value of KEY= from the command line into out, or leaves it. */
static void cmdline_value(const char *cmdline, const char *key, char *out) {
    size_t key_len = strlen(key);
    const char *p = cmdline;
    while (*p) {
        while (*p == ' ' || *p == '\n')
            p++;
        const char *end = p;
        while (*end && *end != ' ' && *end != '\n')
            end++;
        size_t len = (size_t)(end - p);
        if (len > key_len && strncmp(p, key, key_len) == 0 && p[key_len] == '=') {
            size_t value_len = len - key_len - 1;
            if (value_len >= ARG_MAX_LEN)
                value_len = ARG_MAX_LEN - 1;
            memcpy(out, p + key_len + 1, value_len);
            out[value_len] = '\0';
        }
        p = end;
    }
}

static int cmdline_has_word(const char *cmdline, const char *word) {
    size_t len = strlen(word);
    for (const char *p = cmdline; (p = strstr(p, word)) != NULL; p += len) {
        int starts = p == cmdline || p[-1] == ' ';
        int ends = p[len] == '\0' || p[len] == ' ' || p[len] == '\n';
        if (starts && ends)
            return 1;
    }
    return 0;
}

static void read_cmdline(char *buf, size_t size) {
    if (mount("proc", "/proc", "proc", 0, NULL) != 0)
        fail("mount /proc");
    int fd = open("/proc/cmdline", O_RDONLY);
    if (fd < 0)
        fail("open /proc/cmdline");
    ssize_t n = read(fd, buf, size - 1);
    if (n < 0)
        fail("read /proc/cmdline");
    buf[n] = '\0';
    close(fd);
    umount("/proc");
}

static void load_modules(void) {
    FILE *list = fopen("/modules.list", "r");
    if (list == NULL)
        return;
    char path[512];
    while (fgets(path, sizeof path, list) != NULL) {
        path[strcspn(path, "\n")] = '\0';
        if (path[0] == '\0')
            continue;
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            fail(path);
        if (syscall(SYS_finit_module, fd, "", 0) != 0 && errno != EEXIST)
            fail(path);
        close(fd);
    }
    fclose(list);
}

/* The disk's node appears once devtmpfs has caught up with the probe. */
static void wait_for(const char *device) {
    struct timespec tick = {0, 10 * 1000 * 1000};
    struct stat st;
    for (int i = 0; i < 1000; i++) {
        if (stat(device, &st) == 0)
            return;
        nanosleep(&tick, NULL);
    }
    fail(device);
}

int main(int argc, char **argv, char **envp) {
    char cmdline[4096];
    char root[ARG_MAX_LEN] = "";
    char fstype[ARG_MAX_LEN] = "ext4";
    char init[ARG_MAX_LEN] = "/sbin/init";

    if (mount("devtmpfs", "/dev", "devtmpfs", 0, NULL) != 0 && errno != EBUSY)
        fail("mount /dev");
    read_cmdline(cmdline, sizeof cmdline);
    cmdline_value(cmdline, "root", root);
    cmdline_value(cmdline, "rootfstype", fstype);
    cmdline_value(cmdline, "init", init);
    if (root[0] == '\0') {
        errno = EINVAL;
        fail("no root= on the kernel command line");
    }
    unsigned long flags = cmdline_has_word(cmdline, "rw") ? 0 : MS_RDONLY;

    load_modules();
    wait_for(root);
    if (mount(root, "/newroot", fstype, flags, NULL) != 0)
        fail("mount root");
    say("mounted", root);
    /* The new root's init mounts its own /dev. */
    if (umount("/dev") != 0)
        fail("umount /dev");
    if (chdir("/newroot") != 0)
        fail("chdir /newroot");
    if (mount(".", "/", NULL, MS_MOVE, NULL) != 0)
        fail("move root");
    if (chroot(".") != 0)
        fail("chroot");
    if (chdir("/") != 0)
        fail("chdir /");
    /* The kernel's words for init (after "--", or unknown ones) go on to it. */
    char *init_argv[64] = {init};
    int n = 1;
    for (int i = 1; i < argc && n < 63; i++)
        init_argv[n++] = argv[i];
    init_argv[n] = NULL;
    execve(init, init_argv, envp);
    fail(init);
    return 1;
}
