"""images/kubernetes/: valid Kubernetes objects (kubernetes-validate's bundled
OpenAPI schemas, offline, strict: unknown fields fail), and consistent with
what guestinit and procshim actually do."""

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from procshim.views import VIEWS

from guestinit import cli
from guestinit.config import InitConfig

FOLDER = Path(__file__).resolve().parents[2] / "images/kubernetes"
MOUNTPOINT = "/var/lib/procshim"
# The /proc files a container runtime lets a mount cover (runc refuses other
# /proc destinations); every other shim path must be outside /proc.
RUNTIME_ALLOWED_PROC = {
    "/proc/cpuinfo",
    "/proc/diskstats",
    "/proc/meminfo",
    "/proc/stat",
    "/proc/swaps",
    "/proc/uptime",
    "/proc/loadavg",
}
STOP_MARGIN = 2.0  # seconds the runtime needs beyond guestinit's own stop

Manifest = dict[str, Any]


def load(name: str) -> Manifest:
    with open(FOLDER / name, encoding="utf-8") as file:
        documents = [doc for doc in yaml.safe_load_all(file) if doc is not None]
    assert len(documents) == 1, f"{name}: one object per file"
    document: Manifest = documents[0]
    return document


def only_container(pod_spec: Manifest) -> Manifest:
    containers: list[Manifest] = pod_spec["containers"]
    assert len(containers) == 1
    return containers[0]


def env_of(container: Manifest) -> dict[str, str]:
    return {item["name"]: item["value"] for item in container.get("env", [])}


@pytest.mark.parametrize("name", sorted(p.name for p in FOLDER.glob("*.yaml")))
def test_each_manifest_passes_the_kubernetes_schema(name: str) -> None:
    validate = pytest.importorskip("kubernetes_validate")
    version = validate.latest_version()
    validate.validate(load(name), version, strict=True)


def test_the_schema_check_rejects_a_misspelled_field() -> None:
    validate = pytest.importorskip("kubernetes_validate")
    broken = copy.deepcopy(load("daemonset-procshim.yaml"))
    mount = broken["spec"]["template"]["spec"]["containers"][0]["volumeMounts"][0]
    mount["mountPropogation"] = mount.pop("mountPropagation")
    with pytest.raises(validate.ValidationError):
        validate.validate(broken, validate.latest_version(), strict=True)


def test_the_pod_runs_guestinit_and_its_grace_fits_the_kubelet_s() -> None:
    pod = load("pod.yaml")
    assert (pod["apiVersion"], pod["kind"]) == ("v1", "Pod")
    container = only_container(pod["spec"])
    assert "command" not in container, "the image's ENTRYPOINT (guestinit --) must stay"
    parsed = cli.parse(["--", *container["args"]], env_of(container))
    assert isinstance(parsed, InitConfig)
    kubelet_grace = pod["spec"]["terminationGracePeriodSeconds"]
    # guestinit's whole stop is bounded by its grace: it must end before the
    # kubelet's SIGKILL, with room for the runtime.
    assert parsed.grace + STOP_MARGIN <= kubelet_grace
    assert "SYS_ADMIN" in container["securityContext"]["capabilities"]["add"]
    fuse = {v["name"]: v for v in pod["spec"]["volumes"]}
    mounted = {m["mountPath"]: fuse[m["name"]] for m in container["volumeMounts"]}
    assert mounted["/dev/fuse"]["hostPath"] == {"path": "/dev/fuse", "type": "CharDevice"}


def test_the_daemonset_serves_host_mode_into_the_node_s_namespace() -> None:
    daemonset = load("daemonset-procshim.yaml")
    assert (daemonset["apiVersion"], daemonset["kind"]) == ("apps/v1", "DaemonSet")
    spec = daemonset["spec"]["template"]["spec"]
    assert spec["hostPID"] is True, "readers' pids are looked up in the node's /proc"
    container = only_container(spec)
    argv = [*container["command"], *container["args"]]
    assert argv[:3] == ["procshim", "serve", MOUNTPOINT]
    assert "-f" in argv or "--foreground" in argv, "a daemonizing server ends the pod"
    assert container["securityContext"]["privileged"] is True
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert mounts[MOUNTPOINT]["mountPropagation"] == "Bidirectional"
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes[mounts[MOUNTPOINT]["name"]]["hostPath"]["path"] == MOUNTPOINT
    probe = container["livenessProbe"]["exec"]["command"]
    assert probe[:2] == ["timeout", "2"] and probe[-1].startswith(MOUNTPOINT + "/")


def test_the_consumer_binds_each_shim_file_over_the_same_path() -> None:
    pod = load("example-consumer.yaml")
    container = only_container(pod["spec"])
    volumes = {v["name"]: v["hostPath"] for v in pod["spec"]["volumes"]}
    assert container["volumeMounts"], "no files bound"
    for mount in container["volumeMounts"]:
        source = volumes[mount["name"]]
        target = mount["mountPath"]
        assert source == {"path": MOUNTPOINT + target, "type": "File"}
        assert mount["readOnly"] is True
        assert target in VIEWS, f"procshim does not serve {target}"
        assert not target.startswith("/proc/") or target in RUNTIME_ALLOWED_PROC, target
    bound = {m["mountPath"] for m in container["volumeMounts"]}
    assert {"/proc/meminfo", "/proc/cpuinfo", "/sys/devices/system/cpu/online"} <= bound
