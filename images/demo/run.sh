#!/bin/bash
# The main job, as a newcomer sees it: guestinit as PID 1 of a fresh PID, mount
# and UTS namespace, inside a cgroup limited to 256 MiB and half a CPU, running
# Debian's own cron.service and a Type=notify service beside a workload that
# leaves orphans; `guestinit ctl status` shows the units, then we send
# SIGUSR1, then SIGTERM (as `docker stop` would) and show the reaping,
# forwarding, the reverse-order stop, the drain and the exit code.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash tests/setup.sh
REPO="$PWD"
NAME="guestinit-demo-$$"
CGROUPS=()
INIT=""

cleanup() {
    # guestinit is PID 1 of its namespace: SIGKILL to it ends every process there.
    if [ -n "${INIT:-}" ] && kill -0 "$INIT" 2>/dev/null; then
        kill -KILL "$INIT"; sleep 0.2
        # A SIGKILLed guestinit could not remove its (now empty) unit cgroups.
        for dir in /sys/fs/cgroup/pids/guestinit-1-*/ /sys/fs/cgroup/pids/guestinit-1-*/*/; do
            [ -d "$dir" ] && rmdir "$dir" 2>/dev/null || true
        done
    fi
    for dir in "${CGROUPS[@]}"; do rmdir "$dir" 2>/dev/null || true; done
    rm -rf "${UNITS:-/nonexistent}"
}
trap cleanup EXIT

# Our own child cgroups (v1 as on these machines, or v2), removed on exit.
make_cgroups() {
    if [ -d /sys/fs/cgroup/memory ] && [ -d /sys/fs/cgroup/cpu ]; then
        mkdir -p "/sys/fs/cgroup/memory/$NAME" "/sys/fs/cgroup/cpu/$NAME"
        CGROUPS+=("/sys/fs/cgroup/memory/$NAME" "/sys/fs/cgroup/cpu/$NAME")
        echo $((256 * 1024 * 1024)) > "/sys/fs/cgroup/memory/$NAME/memory.limit_in_bytes"
        echo 50000 > "/sys/fs/cgroup/cpu/$NAME/cpu.cfs_quota_us"
    elif [ -f /sys/fs/cgroup/cgroup.controllers ]; then
        mkdir -p "/sys/fs/cgroup/$NAME"
        CGROUPS+=("/sys/fs/cgroup/$NAME")
        echo $((256 * 1024 * 1024)) > "/sys/fs/cgroup/$NAME/memory.max" || true
        echo "50000 100000" > "/sys/fs/cgroup/$NAME/cpu.max" || true
    fi
}

make_cgroups
UNITS=$(mktemp -d /tmp/guestinit-demo-units.XXXXXX)
cat > "$UNITS/demo-api.service" <<UNIT
[Unit]
Description=Demo API (Type=notify)
After=cron.service
[Service]
Type=notify
ExecStart=/usr/bin/python3 $REPO/images/demo/api.py
UNIT
: > "$UNITS/crontab"          # cron runs with an empty crontab: the demo must
mkdir -p "$UNITS/cron.d"      # not run this machine's own cron jobs
# sshd with a configuration of its own (bound over /etc/ssh in the namespace):
# a free loopback port, our client key, host keys made by the unit itself.
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$UNITS/etc-ssh"
cp /etc/ssh/moduli "$UNITS/etc-ssh/" 2>/dev/null || true
ssh-keygen -q -t ed25519 -N '' -f "$UNITS/client_key"
cp "$UNITS/client_key.pub" "$UNITS/authorized_keys"
cat > "$UNITS/etc-ssh/sshd_config" <<SSHD
Port $PORT
ListenAddress 127.0.0.1
AuthorizedKeysFile $UNITS/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
SSHD
echo "== guestinit as PID 1 in a new PID+mount+UTS namespace, 256 MiB, 0.5 CPU"
# --tmpfiles off: the namespace shares this machine's root, so its tmpfiles.d
# (with systemd's "D /tmp") would be the machine's own, not an image's.
(
    # This subshell moves itself into the cgroups, then becomes the namespace.
    for dir in "${CGROUPS[@]}"; do echo "$BASHPID" > "$dir/cgroup.procs"; done
    exec unshare --pid --fork --mount-proc --mount --uts sh -c '
        hostname guestinit-demo
        mount --make-rprivate / && mount -t tmpfs tmpfs /run
        mount --bind "$1/crontab" /etc/crontab && mount --bind "$1/cron.d" /etc/cron.d
        mount --bind "$1/etc-ssh" /etc/ssh
        exec "$0/.venv/bin/python" -m guestinit -v --unit-path "$1" --unit-path "$0/units" \
            --unit-path /lib/systemd/system \
            --start ssh.service --start cron.service --start demo-api.service \
            --start logrotate.timer --state-dir "$1/state" \
            --syslog-socket /run/guestinit/log --hints --tmpfiles off \
            -- sh "$0/images/demo/workload.sh"' "$REPO" "$UNITS"
) &
LAUNCHER=$!
# guestinit is unshare's child once the namespace exists.
for _ in $(seq 100); do
    INIT=$( (ps -o pid= --ppid "$LAUNCHER" || true) | head -1 | tr -d ' ')
    [ -n "$INIT" ] && break
    sleep 0.05
done
for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
    sleep 0.1
done
sleep 0.5
echo "== demo: ssh login on 127.0.0.1:$PORT (our shipped ssh.service)"
ssh -i "$UNITS/client_key" -p "$PORT" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    -o BatchMode=yes -o LogLevel=ERROR root@127.0.0.1 \
    'echo "logged in to $(hostname) as $(id -un); PID 1 is: $(tr "\\0" " " < /proc/1/cmdline)"' || true
echo "== demo: guestinit ctl status (inside the container's mount namespace)"
nsenter -t "$INIT" -m -- "$REPO/.venv/bin/python" -m guestinit ctl status || true
echo "== demo: guestinit ctl list-timers (logrotate without cron)"
nsenter -t "$INIT" -m -- "$REPO/.venv/bin/python" -m guestinit ctl list-timers || true
echo "== demo: kill -USR1 $INIT (guestinit's host pid)"
kill -USR1 "$INIT"
sleep 0.5
echo "== demo: kill -TERM $INIT (what docker stop sends)"
started=$EPOCHREALTIME
kill -TERM "$INIT"
set +e
wait "$LAUNCHER"
code=$?
set -e
elapsed=$(python3 -c "print(f'{$EPOCHREALTIME - $started:.2f}')")
echo "== demo: guestinit exited with $code (the main process's code) after ${elapsed}s"
[ "$code" -eq 3 ]
