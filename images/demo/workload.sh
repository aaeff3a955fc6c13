#!/bin/sh
# The demo's main process: shows where it runs, leaves orphans behind, keeps a
# worker that needs a second to clean up, and reports the signals it gets.
echo "main: pid $$ on host '$(hostname)', cgroup $(grep -m1 memory /proc/self/cgroup 2>/dev/null || head -1 /proc/self/cgroup)"
v1=$(grep -m1 ':memory:' /proc/self/cgroup | cut -d: -f3)
v2=$(grep -m1 '^0::' /proc/self/cgroup | cut -d: -f3)
limit=$(cat "/sys/fs/cgroup/memory$v1/memory.limit_in_bytes" 2>/dev/null || cat "/sys/fs/cgroup$v2/memory.max" 2>/dev/null || echo unknown)
echo "main: cgroup memory limit: $limit bytes"
# The resource shim (procshim) serves /proc and /sys from that limit: free,
# glibc's CPU count and every runtime reading /proc see the container's size.
total=$(free -m | awk '/^Mem:/ {print $2}')
echo "main: free -m: ${total} MiB total; /proc/cpuinfo: $(grep -c ^processor /proc/cpuinfo) CPU(s); getconf _NPROCESSORS_ONLN: $(getconf _NPROCESSORS_ONLN)"
echo "main: $(grep -E '^(MemTotal|MemAvailable)' /proc/meminfo | tr -s ' ' | paste -sd ';' -); uptime $(cut -d' ' -f1 /proc/uptime)s (since this container's init started)"
for i in 1 2 3 4 5; do (sleep 0.2 &) ; done
echo "main: runtime hints (--hints): GOMAXPROCS=${GOMAXPROCS:-} GOMEMLIMIT=${GOMEMLIMIT:-} JAVA_TOOL_OPTIONS='${JAVA_TOOL_OPTIONS:-}' NODE_OPTIONS='${NODE_OPTIONS:-}'"
echo "main: left 5 orphans; PID 1 will reap them"
sh -c 'trap "echo worker: SIGTERM, cleaning up for 1s; sleep 1; echo worker: clean; exit 0" TERM; while :; do sleep 0.1; done' &
trap 'echo "main: got SIGUSR1 (forwarded by PID 1)"' USR1
trap 'echo "main: got SIGTERM, exiting with 3"; exit 3' TERM
logger -u /run/guestinit/log -t demo-logger "hello through guestinit's built-in syslog" || true
echo "main: ready"
while :; do sleep 0.1; done
