"""guestinit's own options with units, for real: unit names without a type,
and a main command that cannot run is said before any unit starts."""

from tests.sandbox import Sandbox


def test_start_takes_a_name_without_suffix_as_a_service(sandbox: Sandbox) -> None:
    marker = sandbox.path("ran")
    sandbox.unit("web.service", f"[Service]\nType=oneshot\nExecStart=/bin/touch {marker}\n")
    run = sandbox.start("--start", "web", "--", "true")
    assert run.wait(timeout=30) == 0
    assert marker.exists(), run.stderr.decode()
    assert b"no type suffix" not in run.stderr


def test_a_missing_main_command_is_reported_before_units_start(sandbox: Sandbox) -> None:
    marker = sandbox.path("ran")
    sandbox.unit("web.service", f"[Service]\nType=oneshot\nExecStart=/bin/touch {marker}\n")
    run = sandbox.start("--start", "web.service", "--", "/nonexistent/command")
    assert run.wait(timeout=30) == 127
    assert b"cannot run /nonexistent/command: No such file or directory" in run.stderr
    assert not marker.exists(), "a unit started although the main command cannot run"
    run = sandbox.start("--start", "web.service", "--", "no-such-command-anywhere")
    assert run.wait(timeout=30) == 127
    assert b"cannot run no-such-command-anywhere" in run.stderr
    not_executable = sandbox.path("plain-file")
    not_executable.write_text("")
    run = sandbox.start("--start", "web.service", "--", str(not_executable))
    assert run.wait(timeout=30) == 126
    assert not marker.exists()


def test_an_unknown_user_is_named_once(sandbox: Sandbox) -> None:
    sandbox.unit(
        "bad.service",
        "[Service]\nType=oneshot\nUser=guestinit-no-such-user\nExecStart=/bin/true\n",
    )
    run = sandbox.start("--start", "bad", "--", "true")
    run.wait(timeout=30)
    err = run.stderr.decode()
    assert "user guestinit-no-such-user: No such process" in err, err
    assert "user user" not in err
