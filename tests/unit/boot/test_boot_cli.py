"""The command line's VM options: --vm is refused where we are not the machine's
init, --no-vm and plain runs stay container mode."""

from guestinit import cli
from guestinit.config import InitConfig


def test_vm_needs_the_machines_init() -> None:
    assert cli.parse(["--vm", "--", "true"], {}) == 2


def test_no_vm_and_default_are_container_mode() -> None:
    for args in (["--no-vm", "--", "true"], ["--", "true"]):
        config = cli.parse(args, {})
        assert isinstance(config, InitConfig) and config.vm is False
        assert config.power_signals == {}


def test_help_names_the_options() -> None:
    assert "--vm" in cli.USAGE and "--no-vm" in cli.USAGE
