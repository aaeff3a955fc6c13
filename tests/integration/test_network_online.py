"""network-online.target with the shipped units (units/network-online.target,
guestinit-wait-online.service) under guestinit as PID 1 of a PID namespace:
reached at once in a container; in VM guest mode (the /run/guestinit/vm
marker, made here in the run's private /run) held until the network helper's
online mark exists, and given up on when the helper says it failed."""

import time
from pathlib import Path

import pytest

from tests.integration.initrun import InitRun
from tests.sandbox import REPO, Sandbox

UNITS = REPO / "units"
MARKS = "/run/guestinit"
DISTRIBUTION_TARGET = Path("/lib/systemd/system/network-online.target")
# Ours alone, and behind Debian's own network-online.target (which wins there
# and gets the waiter from units/network-online.target.wants/).
UNIT_PATHS = {
    "shipped-target": [str(UNITS)],
    "distribution-target": ["/lib/systemd/system", str(UNITS)],
}


def wants_network(sandbox: Sandbox, out: Path, online_first: bool) -> None:
    """A unit written the Debian way: it records that it ran (with
    ``online_first``: only if the network was "configured" by then)."""
    test = f"test -e {MARKS}/network-online && " if online_first else ""
    sandbox.unit(
        "needs-net.service",
        f"""
[Unit]
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
ExecStart=/bin/sh -c '{test}touch {out}'
""",
    )


def fake_network(sandbox: Sandbox, after: float, mark: str) -> None:
    """Plays the network helper: makes ``mark`` in /run/guestinit after a while."""
    sandbox.commands.append(f"mkdir -p {MARKS} && touch {MARKS}/vm")
    sandbox.unit(
        "fake-network.service",
        f"[Service]\nExecStart=/bin/sh -c 'sleep {after}; touch {MARKS}/{mark}; exec sleep 60'\n",
    )


def skip_without_the_distributions_target(layout: str) -> None:
    if layout == "distribution-target" and not DISTRIBUTION_TARGET.exists():
        pytest.skip("no network-online.target of the distribution here")


def start(sandbox: Sandbox, layout: str, main: str) -> InitRun:
    paths = [arg for path in UNIT_PATHS[layout] for arg in ("--unit-path", path)]
    units = ["--start", "needs-net.service"]
    if (sandbox.units / "fake-network.service").exists():
        units += ["--start", "fake-network.service"]
    return sandbox.start("-v", *paths, *units, "--", "/bin/sh", "-c", main)


@pytest.mark.parametrize("layout", sorted(UNIT_PATHS))
def test_in_a_container_the_target_is_reached_at_once(sandbox: Sandbox, layout: str) -> None:
    skip_without_the_distributions_target(layout)
    out = sandbox.path("ran")
    wants_network(sandbox, out, online_first=False)
    started = time.monotonic()
    run = start(sandbox, layout, f"while [ ! -e {out} ]; do sleep 0.05; done")
    assert run.wait(timeout=60) == 0
    # The waiter's timeout is 30 s: well under it means it did not wait.
    assert time.monotonic() - started < 15
    assert b"condition not met" in run.stdout + run.stderr


@pytest.mark.parametrize("layout", sorted(UNIT_PATHS))
def test_in_vm_mode_units_wait_for_the_online_mark(sandbox: Sandbox, layout: str) -> None:
    skip_without_the_distributions_target(layout)
    out = sandbox.path("ran")
    wants_network(sandbox, out, online_first=True)
    fake_network(sandbox, 1.5, "network-online")
    # The main process starts once the units are up.
    run = start(sandbox, layout, f"[ -e {out} ]")
    assert run.wait(timeout=60) == 0, run.stdout + run.stderr


def test_a_failed_helper_ends_the_wait_and_the_units_still_start(sandbox: Sandbox) -> None:
    out = sandbox.path("ran")
    wants_network(sandbox, out, online_first=False)
    fake_network(sandbox, 0.5, "network-failed")
    started = time.monotonic()
    run = start(sandbox, "shipped-target", f"[ -e {out} ]")
    assert run.wait(timeout=60) == 0, run.stdout + run.stderr
    assert time.monotonic() - started < 15, "stopped waiting before the 30 s timeout"
    assert b"the network helper gave up" in run.stdout + run.stderr
