"""Container vs machine: only PID 1 of the initial PID namespace without
container markers is a machine's init."""

import pytest

from guestinit.boot.detect import INITIAL_PID_NAMESPACE, Facts, probe, verdict


def facts(**changes: object) -> Facts:
    base: dict[str, object] = {"pid": 1, "pid_namespace": INITIAL_PID_NAMESPACE}
    base.update(changes)
    return Facts(**base)  # type: ignore[arg-type]


def test_pid1_of_the_first_namespace_without_markers_is_a_machine() -> None:
    assert verdict(facts()) is None


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"pid": 7}, "not PID 1"),
        ({"pid_namespace": None}, "cannot read"),
        ({"pid_namespace": "pid:[4026532001]"}, "PID namespace"),
        ({"markers": ("/.dockerenv",)}, "/.dockerenv"),
        ({"container_env": "podman"}, "container=podman"),
        ({"init_environ": b"HOME=/\0container=lxc\0"}, "container=lxc"),
        ({"init_cgroup": "0::/kubepods/burstable/pod1/abc\n"}, "kubepods"),
        ({"init_cgroup": "12:memory:/docker/0123abcd\n0::/\n"}, "docker"),
    ],
)
def test_containers_and_namespaces_are_not(changes: dict[str, object], reason: str) -> None:
    why = verdict(facts(**changes))
    assert why is not None and reason in why


def test_an_empty_container_variable_and_a_plain_cgroup_are_no_hints() -> None:
    assert verdict(facts(init_environ=b"container=\0", init_cgroup="0::/\n")) is None
    assert verdict(facts(init_cgroup="0::/init.scope\n")) is None


def test_forced_skips_markers_but_never_the_namespace() -> None:
    assert verdict(facts(markers=("/run/.containerenv",)), forced=True) is None
    assert verdict(facts(container_env="docker"), forced=True) is None
    assert verdict(facts(pid_namespace="pid:[4026532001]"), forced=True) is not None
    assert verdict(facts(pid=2), forced=True) == "not PID 1"


def test_probe_of_this_test_process_is_never_a_machine() -> None:
    # pytest is not PID 1: the probe's facts say so whatever else they hold.
    found = probe({"container": ""})
    assert found.pid != 1
    assert verdict(found) == "not PID 1"
    assert found.pid_namespace is not None and found.pid_namespace.startswith("pid:[")
