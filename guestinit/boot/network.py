"""The network helper: a child process of PID 1 that configures the guest's
interfaces with pyroute2 and, for DHCP, keeps the lease renewed until SIGTERM.

A process of its own because pyroute2's import (~250 ms, seconds under TCG),
the wait for late interfaces (virtio_net probes after modprobe returns) and
DHCP's exchanges must never hold up PID 1's loop. Exit status: 0 configured
(static), 1 a step failed (said on stderr), 2 bad configuration.

    python3 -m guestinit.boot.network [--config FILE] [--cmdline FILE] [--resolv FILE]
                                      [--online FILE]
"""

import os
import sys
import time

from guestinit.boot import cmdline, netconfig
from guestinit.boot.netconfig import FIRST_ETHERNET, InterfacePlan
from guestinit.boot.network_io import say, write_resolv

CONFIG = "/etc/guestinit/network"
LEASE_DIR = "/run/guestinit/dhcp"
# Made once every interface is configured (a static one, or a first DHCP lease
# with its route and name servers): what scripts and tests wait for.
ONLINE = "/run/guestinit/network-online"
# Made beside it when a step failed (a missing interface, a refused address):
# guestinit-wait-online.service stops waiting then rather than at its timeout.
FAILED_NAME = "network-failed"
_POLL = 0.05


def load_plans(config: str, cmdline_path: str) -> list[InterfacePlan]:
    """``ip=`` on the kernel command line when given (one boot's choice wins over
    the image's; ``ip=off`` turns the network off), else the file."""
    try:
        with open(cmdline_path, encoding="utf-8", errors="replace") as file:
            value = cmdline.values(file.read()).get("ip")
    except OSError:
        value = None
    if value is not None:
        argument = cmdline.parse_ip(value)
        return [] if argument is None else [netconfig.from_ip_argument(argument)]
    try:
        with open(config, encoding="utf-8") as file:
            return netconfig.parse(file.read(), config)
    except FileNotFoundError:
        return []


def is_ethernet_like(name: str, sys_class_net: str = "/sys/class/net") -> bool:
    """A physical or virtual NIC of type ARPHRD_ETHER that is not a bridge/veth/...
    we made ourselves: the ``*`` interface of a config."""
    base = f"{sys_class_net}/{name}"
    try:
        with open(f"{base}/type", encoding="ascii") as file:
            if file.read().strip() != "1":
                return False
    except OSError:
        return False
    return os.path.exists(f"{base}/device")


def find_interface(plan: InterfacePlan, sys_class_net: str = "/sys/class/net") -> str | None:
    deadline = time.monotonic() + plan.wait
    while True:
        try:
            names = sorted(os.listdir(sys_class_net))
        except OSError:
            names = []
        if plan.name == FIRST_ETHERNET:
            candidates = [n for n in names if is_ethernet_like(n, sys_class_net)]
            if candidates:
                return candidates[0]
        elif plan.name in names:
            return plan.name
        if time.monotonic() >= deadline:
            return None
        time.sleep(_POLL)


def configure_static(ipr: "object", name: str, plan: InterfacePlan) -> None:
    from pyroute2 import IPRoute

    assert isinstance(ipr, IPRoute)
    (index,) = ipr.link_lookup(ifname=name)
    if plan.mtu is not None:
        ipr.link("set", index=index, mtu=plan.mtu)
    ipr.link("set", index=index, state="up")
    for address in plan.addresses:
        ip, _, prefix = address.partition("/")
        ipr.addr("replace", index=index, address=ip, prefixlen=int(prefix))
    if plan.gateway:
        ipr.route("replace", dst="0.0.0.0/0", gateway=plan.gateway, oif=index)


def mark_online(path: str) -> None:
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="ascii") as file:
            file.write(f"{time.monotonic():.3f}\n")
    except OSError as error:
        say(f"cannot write {path}: {error.strerror}")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    options = dict(zip(args[::2], args[1::2], strict=False))
    config = options.get("--config", CONFIG)
    resolv = options.get("--resolv", "/etc/resolv.conf")
    online = options.get("--online", ONLINE)
    try:
        plans = load_plans(config, options.get("--cmdline", "/proc/cmdline"))
    except ValueError as error:
        say(str(error))
        return 2
    if not plans:
        mark_online(online)  # nothing to configure
        return 0
    found: list[tuple[str, InterfacePlan]] = []
    failed = False
    for plan in plans:
        name = find_interface(plan)
        if name is None:
            say(f"interface {plan.name} did not appear within {plan.wait:g}s")
            failed = True
        else:
            found.append((name, plan))
    statics = [(name, plan) for name, plan in found if not plan.dhcp]
    if statics:
        from pyroute2 import IPRoute

        with IPRoute() as ipr:
            for name, plan in statics:
                try:
                    configure_static(ipr, name, plan)
                    say(f"{name}: {', '.join(plan.addresses)} via {plan.gateway or '-'}")
                except Exception as error:  # NetlinkError, KeyError: name the step
                    say(f"{name}: cannot configure: {error}")
                    failed = True
        write_resolv(resolv, netconfig.resolv_conf([p for _, p in statics]))
    if failed:
        mark_online(os.path.join(os.path.dirname(online), FAILED_NAME))
    dynamic = [(name, plan) for name, plan in found if plan.dhcp]
    if dynamic:
        from guestinit.boot.dhcp import run as run_dhcp

        ready = (lambda: None) if failed else (lambda: mark_online(online))
        return run_dhcp([name for name, _ in dynamic], resolv, LEASE_DIR, ready) or int(failed)
    if not failed:
        mark_online(online)
    return int(failed)


if __name__ == "__main__":
    sys.exit(main())
