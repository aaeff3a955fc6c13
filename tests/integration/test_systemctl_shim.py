"""guestinit run as ``systemctl``: the verbs distribution scripts use, against
the real service manager in the sandbox, and systemctl's answers when no
guestinit runs (so scripts that probe for systemd fall back)."""

import socket
import subprocess
from pathlib import Path

import pytest

from tests.integration.initrun import InitRun, launcher
from tests.sandbox import Sandbox, wait_for

NOT_BOOTED = (
    "System has not been booted with systemd as init system (PID 1). Can't operate.\n"
    "Failed to connect to bus: Host is down\n"
)
SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
LONG = "[Unit]\nDescription={name} test\n[Service]\nExecStart=/bin/sh -c " \
       "'trap \"echo {name} got HUP\" HUP; while :; do sleep 0.05; done'\n" \
       "[Install]\nWantedBy=multi-user.target\n"  # fmt: skip
ROTATE = Path("/usr/lib/rsyslog/rsyslog-rotate")
RSYSLOG_UNIT = Path("/lib/systemd/system/rsyslog.service")


def shim_dir(sandbox: Sandbox) -> Path:
    """A folder holding our ``systemctl``, to put first on PATH."""
    folder = sandbox.path("bin")
    if not (folder / "systemctl").exists():
        launcher(folder, "systemctl")
    return folder


def systemctl(
    sandbox: Sandbox, run: InitRun | None, *args: str, env: dict[str, str] | None = None
) -> "subprocess.CompletedProcess[str]":
    """``systemctl ARGS``: inside the run's mount namespace (where its control
    socket is), or, without a run, here."""
    command = [str(shim_dir(sandbox) / "systemctl"), *args]
    if run is not None:
        command = ["nsenter", "-t", str(run.init_pid()), "-m", "--", *command]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": SYSTEM_PATH, **(env or {})},
    )


def started(sandbox: Sandbox, *names: str) -> InitRun:
    for name in names:
        sandbox.unit(f"{name}.service", LONG.format(name=name))
    run = sandbox.start(*(f"--start={n}.service" for n in names))
    wait_for(lambda: systemctl(sandbox, run, "is-active", *names).returncode == 0)
    return run


# --- no guestinit ---------------------------------------------------------------


def test_without_a_manager_it_says_not_booted(sandbox: Sandbox) -> None:
    absent = {"GUESTINIT_CONTROL_SOCKET": str(sandbox.path("absent.sock"))}
    for verb in (["start", "ssh"], ["kill", "-s", "HUP", "rsyslog.service"], ["daemon-reload"]):
        answer = systemctl(sandbox, None, *verb, env=absent)
        assert (answer.returncode, answer.stdout, answer.stderr) == (1, "", NOT_BOOTED)
    # A socket file nobody listens on (a manager killed without cleanup).
    stale = sandbox.path("stale.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as unbound:
        unbound.bind(str(stale))
        answer = systemctl(sandbox, None, "is-active", "ssh", env=_at(stale))
    assert (answer.returncode, answer.stdout, answer.stderr) == (1, "", NOT_BOOTED)
    offline = systemctl(sandbox, None, "is-system-running", env=absent)
    assert (offline.returncode, offline.stdout) == (1, "offline\n")


def _at(path: Path) -> dict[str, str]:
    return {"GUESTINIT_CONTROL_SOCKET": str(path)}


def test_version_user_and_unknown_verbs(sandbox: Sandbox) -> None:
    absent = _at(sandbox.path("absent.sock"))
    version = systemctl(sandbox, None, "--version", env=absent)
    assert version.returncode == 0
    first = version.stdout.splitlines()[0].split()
    assert first[:3] == ["systemd", "252", "(guestinit"], version.stdout
    user = systemctl(sandbox, None, "--user", "status", env=absent)
    assert user.returncode == 1 and user.stderr.startswith("Failed to connect to bus")
    unknown = systemctl(sandbox, None, "frobnicate", "x", env=absent)
    assert (unknown.returncode, unknown.stderr) == (1, "Unknown command verb frobnicate.\n")
    bad = systemctl(sandbox, None, "--no-such-option", "status", env=absent)
    assert bad.returncode == 1 and "no-such-option" in bad.stderr


# --- against the manager ------------------------------------------------------------


def test_is_active_show_status_and_kill(sandbox: Sandbox) -> None:
    run = started(sandbox, "web")
    running = systemctl(sandbox, run, "is-system-running")
    assert (running.returncode, running.stdout) == (0, "running\n")
    active = systemctl(sandbox, run, "is-active", "web.service")
    assert (active.returncode, active.stdout) == (0, "active\n")
    quiet = systemctl(sandbox, run, "--quiet", "is-active", "web")
    assert (quiet.returncode, quiet.stdout) == (0, "")
    ghost = systemctl(sandbox, run, "is-active", "ghost.service")
    assert (ghost.returncode, ghost.stdout) == (3, "inactive\n")
    pid = systemctl(sandbox, run, "show", "-p", "MainPID", "--value", "web.service").stdout
    assert pid.strip().isdigit() and int(pid) > 1
    assert systemctl(sandbox, run, "show", "web", "--property=MainPID", "--value").stdout == pid
    assert systemctl(sandbox, run, "show", "web", "-P", "MainPID").stdout == pid
    both = systemctl(sandbox, run, "show", "web", "-p", "Id,ActiveState").stdout
    assert both == "Id=web.service\nActiveState=active\n"
    status = systemctl(sandbox, run, "--no-pager", "-l", "status", "web")
    assert status.returncode == 0 and "Active: active (running)" in status.stdout
    listed = systemctl(sandbox, run, "list-units", "--type=service", "--no-legend").stdout
    assert "web.service" in listed and "UNIT" not in listed
    for kill in (["-s", "HUP"], ["--signal=SIGHUP", "--kill-whom=main"], ["-sHUP"]):
        assert systemctl(sandbox, run, "kill", *kill, "web.service").returncode == 0
        # One at a time: two HUPs landing together would count once (standard
        # signals do not queue).
        while not run.read_line().endswith("web got HUP"):
            pass
    assert systemctl(sandbox, run, "kill", "-s", "HUP", "ghost.service").returncode == 5
    assert systemctl(sandbox, run, "--no-block", "restart", "web").returncode == 0
    wait_for(lambda: systemctl(sandbox, run, "show", "web", "-P", "MainPID").stdout != pid)
    assert systemctl(sandbox, run, "stop", "web").returncode == 0
    stopped = systemctl(sandbox, run, "is-active", "web")
    assert (stopped.returncode, stopped.stdout) == (3, "inactive\n")
    assert systemctl(sandbox, run, "try-restart", "web").returncode == 0
    assert systemctl(sandbox, run, "is-active", "web").returncode == 3, "try-restart: not running"
    run.signal(15)
    assert run.wait(timeout=30) == 0


def overlaid_etc(sandbox: Sandbox) -> tuple[Path, str]:
    """The shell lines that give a mount namespace an /etc of its own (an
    overlay whose writes land in our tmp dir) with ``enabled`` bound over
    /etc/guestinit/units: the machine has no such folder, and must not get one."""
    upper, work, enabled = (sandbox.path(name) for name in ("etc-upper", "etc-work", "enabled"))
    for folder in (upper, work, enabled):
        folder.mkdir()
    lines = [
        f"mount -t overlay overlay -o lowerdir=/etc,upperdir={upper},workdir={work} /etc",
        "mkdir -p /etc/guestinit/units",
        f"mount --bind {enabled} /etc/guestinit/units",
    ]
    return enabled, "\n".join(lines)


def test_enable_and_disable_make_and_remove_links(sandbox: Sandbox) -> None:
    enabled, etc = overlaid_etc(sandbox)
    sandbox.unit("web.service", LONG.format(name="web"))
    sandbox.unit("extra.service", LONG.format(name="extra"))
    args = [*sandbox.safe_args(), "--unit-path", str(sandbox.units), "--start=web.service"]
    run = InitRun(args, setup=f"{sandbox.setup_script()}\n{etc}")
    sandbox.runs.append(run)
    run.start()
    wait_for(lambda: systemctl(sandbox, run, "is-active", "web").returncode == 0)
    assert systemctl(sandbox, run, "is-enabled", "extra").stdout == "disabled\n"
    made = systemctl(sandbox, run, "enable", "extra.service")
    assert made.returncode == 0, made.stderr
    link = enabled / "extra.service"
    assert link.is_symlink() and Path(link.readlink()) == sandbox.units / "extra.service"
    assert "Created symlink /etc/guestinit/units/extra.service" in made.stdout
    now_enabled = systemctl(sandbox, run, "is-enabled", "extra")
    assert (now_enabled.returncode, now_enabled.stdout) == (0, "enabled\n")
    assert systemctl(sandbox, run, "disable", "--now", "extra").returncode == 0
    assert not link.is_symlink()
    assert systemctl(sandbox, run, "is-enabled", "extra").returncode == 1
    missing = systemctl(sandbox, run, "enable", "ghost.service")
    assert missing.returncode == 1 and "ghost.service does not exist" in missing.stderr
    run.signal(15)
    assert run.wait(timeout=30) == 0


def test_enable_works_without_a_manager(sandbox: Sandbox) -> None:
    """As systemctl in a chroot: a Dockerfile's ``RUN systemctl enable``."""
    enabled, etc = overlaid_etc(sandbox)
    sandbox.unit("web.service", LONG.format(name="web"))
    shim = shim_dir(sandbox) / "systemctl"
    env = {**_at(sandbox.path("absent.sock")), "GUESTINIT_UNIT_PATH": str(sandbox.units)}

    def offline(*args: str) -> "subprocess.CompletedProcess[str]":
        script = f'mount --make-rprivate /\n{etc}\nexec "$@"'
        return subprocess.run(
            ["unshare", "--mount", "sh", "-ec", script, "sh", str(shim), *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={"PATH": SYSTEM_PATH, **env},
        )

    made = offline("enable", "web")
    assert made.returncode == 0, made.stderr
    assert (enabled / "web.service").is_symlink()
    assert offline("is-enabled", "web").stdout == "enabled\n"
    assert offline("disable", "web").returncode == 0
    assert not (enabled / "web.service").is_symlink()
    assert offline("is-enabled", "web").stdout == "disabled\n"
    assert offline("start", "web").stderr == NOT_BOOTED


# --- Debian's logrotate hook for rsyslog -------------------------------------------


@pytest.mark.skipif(
    not (ROTATE.exists() and RSYSLOG_UNIT.exists()), reason="Debian's rsyslog is needed"
)
def test_rsyslog_rotate_sends_hup_through_the_shim(sandbox: Sandbox) -> None:
    log_sock = sandbox.path("log.sock")
    log_file = sandbox.path("all.log")
    conf = sandbox.path("rsyslog.conf")
    conf.write_text(f'module(load="imuxsock" SysSock.Name="{log_sock}")\n*.* {log_file}\n')
    sandbox.bind(conf, "/etc/rsyslog.conf")
    run = sandbox.start("--start", "rsyslog.service", unit_path=False)  # Debian's unit
    wait_for(log_sock.exists)

    def log(message: str) -> None:
        subprocess.run(["logger", "-u", str(log_sock), "-t", "gi-test", message], check=True)

    log("before rotation")
    wait_for(lambda: log_file.exists() and "before rotation" in log_file.read_text())
    log_file.rename(sandbox.path("all.log.1"))
    # rsyslog-rotate signals only where systemd seems to run: give it the
    # directory it looks for, in the sandbox's private /run.
    namespace = ["nsenter", "-t", str(run.init_pid()), "-m", "--"]
    subprocess.run([*namespace, "mkdir", "-p", "/run/systemd/system"], check=True)
    rotate = subprocess.run(
        [*namespace, str(ROTATE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": f"{shim_dir(sandbox)}:{SYSTEM_PATH}"},
    )
    assert rotate.returncode == 0, rotate.stderr

    def reopened() -> bool:
        log("after rotation")
        return log_file.exists()

    # After SIGHUP rsyslog closes its files and opens them anew at the next
    # message: the new line lands in a new all.log, not the renamed one.
    wait_for(reopened, timeout=20, interval=0.2)
    wait_for(lambda: "after rotation" in log_file.read_text())
    assert "before rotation" not in log_file.read_text()
    assert "before rotation" in sandbox.path("all.log.1").read_text()
    run.signal(15)
    assert run.wait(timeout=30) == 0


def test_units_linked_in_etc_guestinit_units_start_at_boot(sandbox: Sandbox) -> None:
    enabled, etc = overlaid_etc(sandbox)
    sandbox.unit("web.service", LONG.format(name="web"))
    (enabled / "web.service").symlink_to(sandbox.units / "web.service")
    args = [*sandbox.safe_args(), "--unit-path", str(sandbox.units)]  # no --start, no command
    run = InitRun(args, setup=f"{sandbox.setup_script()}\n{etc}")
    sandbox.runs.append(run)
    run.start()
    wait_for(lambda: systemctl(sandbox, run, "is-active", "web").returncode == 0)
    assert systemctl(sandbox, run, "is-enabled", "web").stdout == "enabled\n"
    run.signal(15)
    assert run.wait(timeout=30) == 0


def test_disable_then_enable_now_relinks_and_starts_without_daemon_reload(
    sandbox: Sandbox,
) -> None:
    """The unit was loaded through its enable link (first on the default unit
    path); after ``disable`` removed that link, ``enable --now`` must link the
    unit's own file again and start it."""
    enabled, etc = overlaid_etc(sandbox)
    sandbox.unit("web.service", LONG.format(name="web"))
    sandbox.unit("extra.service", LONG.format(name="extra"))
    (enabled / "web.service").symlink_to(sandbox.units / "web.service")
    paths = ["--unit-path", "/etc/guestinit/units", "--unit-path", str(sandbox.units)]
    run = InitRun([*sandbox.safe_args(), *paths], setup=f"{sandbox.setup_script()}\n{etc}")
    sandbox.runs.append(run)
    run.start()
    wait_for(lambda: systemctl(sandbox, run, "is-active", "web").returncode == 0)
    removed = systemctl(sandbox, run, "disable", "web")
    assert removed.returncode == 0 and "Removed" in removed.stdout, removed
    assert systemctl(sandbox, run, "stop", "web").returncode == 0
    made = systemctl(sandbox, run, "enable", "--now", "web")
    assert made.returncode == 0, made.stderr
    assert "Created symlink /etc/guestinit/units/web.service" in made.stdout
    link = enabled / "web.service"
    assert link.is_symlink() and Path(link.readlink()) == sandbox.units / "web.service"
    assert systemctl(sandbox, run, "is-active", "web").stdout == "active\n"
    env = {"GUESTINIT_UNIT_PATH": f"/etc/guestinit/units:{sandbox.units}"}
    files = systemctl(sandbox, run, "list-unit-files", "--type=service", env=env)
    rows = [line.split() for line in files.stdout.splitlines()]
    assert rows[0] == ["UNIT", "FILE", "STATE", "VENDOR", "PRESET"]
    assert ["web.service", "enabled", "enabled"] in rows
    assert ["extra.service", "disabled", "enabled"] in rows
    assert files.stdout.endswith("\n2 unit files listed.\n")
    run.signal(15)
    assert run.wait(timeout=30) == 0


def test_failed_units_bad_settings_and_exit_status_names(sandbox: Sandbox) -> None:
    sandbox.unit("noexec.service", "[Unit]\nDescription=no command\n[Service]\nType=simple\n")
    sandbox.unit("nouser.service", "[Service]\nUser=guestinit-no-such-user\nExecStart=/bin/true\n")
    sandbox.unit("nofile.service", "[Service]\nExecStart=/nonexistent/daemon\n")
    run = started(sandbox, "web")
    for name in ("nouser", "nofile"):
        systemctl(sandbox, run, "start", name)
    wait_for(
        lambda: (
            systemctl(sandbox, run, "is-failed", "nouser", "nofile").stdout == "failed\nfailed\n"
        )
    )
    failed = systemctl(sandbox, run, "--failed")
    assert "nouser.service" in failed.stdout and "nofile.service" in failed.stdout
    assert "web.service" not in failed.stdout
    assert "status=217/USER" in systemctl(sandbox, run, "status", "nouser").stdout
    assert "status=203/EXEC" in systemctl(sandbox, run, "status", "nofile").stdout
    bad = systemctl(sandbox, run, "status", "noexec")
    assert "Loaded: bad-setting (Reason: Unit noexec.service has a bad unit file setting.)" in (
        bad.stdout
    ), bad
    assert f"{sandbox.units}/noexec.service: the service has no ExecStart=" in bad.stdout
    assert "not-found" not in bad.stdout
    run.signal(15)
    run.wait(timeout=30)


# --- Debian's invoke-rc.d and service(8) ----------------------------------------

CRON_UNIT = Path("/lib/systemd/system/cron.service")


@pytest.mark.skipif(
    not (CRON_UNIT.exists() and Path("/usr/sbin/invoke-rc.d").exists()),
    reason="Debian's cron and init-system-helpers are needed",
)
def test_invoke_rc_d_and_service_restart_debians_cron(sandbox: Sandbox) -> None:
    """What package upgrades run: ``invoke-rc.d cron restart`` (it checks
    /run/systemd/system, the runlevel or sysinit.target, is-enabled/is-active,
    LoadState) and ``service cron restart``; both must restart the real unit."""
    # The directory guestinit makes when its shim is the systemctl on PATH;
    # this machine's own policy-rc.d ("exit 101", Docker's build guard) is
    # hidden, as in an image without one.
    sandbox.commands += [
        "mkdir -p /run/systemd/system",
        "mount --bind /dev/null /usr/sbin/policy-rc.d",
    ]
    run = sandbox.start("--start", "cron.service", unit_path=False)  # Debian's unit
    wait_for(lambda: systemctl(sandbox, run, "is-active", "cron").returncode == 0)
    namespace = ["nsenter", "-t", str(run.init_pid()), "-m", "--"]

    def cron_pid() -> str:
        return systemctl(sandbox, run, "show", "-p", "MainPID", "--value", "cron").stdout.strip()

    def act(*command: str) -> "subprocess.CompletedProcess[str]":
        return subprocess.run(
            [*namespace, *command],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={"PATH": f"{shim_dir(sandbox)}:{SYSTEM_PATH}"},
        )

    level = systemctl(sandbox, run, "is-active", "sysinit.target", "multi-user.target")
    assert level.stdout == "active\nactive\n"
    # runlevel, where an image links it to systemctl as systemd-sysv does.
    runlevel = launcher(sandbox.path("bin"), "runlevel")
    assert act(str(runlevel)).stdout == "N 3\n"
    first = cron_pid()
    assert first not in ("", "0")
    invoked = act("invoke-rc.d", "cron", "restart")
    assert invoked.returncode == 0, invoked.stderr
    assert "Defaulting to block" not in invoked.stderr, invoked.stderr
    assert "could not determine current runlevel" not in invoked.stderr, invoked.stderr
    wait_for(lambda: cron_pid() not in ("", "0", first))
    second = cron_pid()
    served = act("service", "cron", "restart")
    assert served.returncode == 0, served.stderr
    wait_for(lambda: cron_pid() not in ("", "0", second))
    third = cron_pid()
    # What debhelper's postinst snippets run on upgrade.
    invoked = act("deb-systemd-invoke", "restart", "cron.service")
    assert invoked.returncode == 0, invoked.stderr
    wait_for(lambda: cron_pid() not in ("", "0", third))
    assert systemctl(sandbox, run, "is-active", "cron").stdout == "active\n"
    run.signal(15)
    assert run.wait(timeout=30) == 0
    assert b"not found" not in run.stderr, run.stderr  # sysinit.target is known
