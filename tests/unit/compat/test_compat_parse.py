"""tini's and dumb-init's command lines and environment -> InitConfig."""

import signal

from guestinit import _log
from guestinit.compat import dumb_init, tini
from guestinit.config import PROCESS_GROUP, SESSION, InitConfig


def test_tini_options_and_environment() -> None:
    config = tini.parse(["-s", "-g", "-w", "-vv", "-e", "143", "-p", "SIGKILL", "cmd"], {})
    assert isinstance(config, InitConfig)
    assert config.subreaper and config.forward_to_group and config.warn_on_reap
    assert config.success_codes == frozenset({143})
    assert config.parent_death_signal == int(signal.SIGKILL)
    assert config.log.level == _log.DEBUG and config.log.style == _log.TINI
    assert not config.stop_timeout and not config.drain_as_subreaper
    env = {"TINI_SUBREAPER": "", "TINI_KILL_PROCESS_GROUP": "1", "TINI_VERBOSITY": "3"}
    config = tini.parse(["cmd"], env)
    assert isinstance(config, InitConfig)
    assert config.subreaper and config.forward_to_group and config.log.level == _log.DEBUG


def test_tini_defaults_are_not_subreaper() -> None:
    config = tini.parse(["--", "cmd", "-x"], {})
    assert isinstance(config, InitConfig)
    assert config.command == ["cmd", "-x"] and not config.subreaper


def test_tini_errors_exit_1() -> None:
    assert tini.parse([], {}) == 1
    assert tini.parse(["-e", "256", "x"], {}) == 1
    assert tini.parse(["-p", "NOPE", "x"], {}) == 1
    assert tini.parse(["-Z", "x"], {}) == 1


def test_dumb_init_defaults_use_a_session_and_the_group() -> None:
    config = dumb_init.parse(["cmd"], {})
    assert isinstance(config, InitConfig)
    assert config.spawn_mode == SESSION and config.forward_to_group
    assert config.term_group_on_exit and config.exec_failure_code == 2
    assert not config.subreaper


def test_dumb_init_single_child_and_env() -> None:
    for config in (
        dumb_init.parse(["-c", "cmd"], {}),
        dumb_init.parse(["cmd"], {"DUMB_INIT_SETSID": "0"}),
    ):
        assert isinstance(config, InitConfig)
        assert config.spawn_mode == PROCESS_GROUP and not config.forward_to_group
    config = dumb_init.parse(["--rewrite", "15:3", "-r", "1:0", "cmd"], {"DUMB_INIT_DEBUG": "1"})
    assert isinstance(config, InitConfig)
    assert config.rewrites == {15: 3, 1: 0, 20: 19, 21: 19, 22: 19}
    assert config.log.level == _log.DEBUG
    config = dumb_init.parse(["-c", "-r", "20:10", "cmd"], {})
    assert isinstance(config, InitConfig)
    assert config.rewrites == {20: 10}  # no STOP defaults without a session


def test_dumb_init_setsid_defaults_tty_signals_to_stop_unless_rewritten() -> None:
    config = dumb_init.parse(["-r", "20:10", "cmd"], {})
    assert isinstance(config, InitConfig)
    assert config.rewrites == {20: 10, 22: 19, 21: 19}
    assert config.tty_hand_off and config.leave_cwd and config.suspend_on_tty_signals


def test_tini_verbosity_from_the_environment_replaces_the_v_count() -> None:
    for args, env, level in [
        (["-vvv", "x"], {}, _log.TRACE),
        (["-vvv", "x"], {"TINI_VERBOSITY": "1"}, _log.WARNING),
        (["x"], {"TINI_VERBOSITY": "3"}, _log.DEBUG),
        (["x"], {"TINI_VERBOSITY": "junk"}, _log.ERROR),
        (["x"], {"TINI_VERBOSITY": "2abc"}, _log.INFO),
    ]:
        config = tini.parse(args, env)
        assert isinstance(config, InitConfig)
        assert config.log.level == level, (args, env)


def test_dumb_init_errors_exit_1() -> None:
    assert dumb_init.parse([], {}) == 1
    assert dumb_init.parse(["-r", "32:1", "x"], {}) == 1
    assert dumb_init.parse(["-r", "TERM:1", "x"], {}) == 1
    assert dumb_init.parse(["--nope", "x"], {}) == 1
