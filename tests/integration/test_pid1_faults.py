"""PID 1 never dies of an exception: faults are logged with a traceback and
the loop goes on until the main process is reaped and the drain is over."""

from tests.integration.conftest import InitFactory, ProgramPath


def test_injected_faults_are_logged_and_survived(init: InitFactory, program: ProgramPath) -> None:
    faulty = program("faulty_init")
    python, script = faulty
    run = init(script, "sh", "-c", "(sleep 0.3 &); sleep 0.2; exit 4", executable=python)
    assert run.wait() == 4
    err = run.stderr.decode()
    assert "injected reaper fault 1" in err and "injected reaper fault 2" in err
    assert "Traceback" in err
    assert "injected notify fault" in err
    assert "loop.run raised" not in err
