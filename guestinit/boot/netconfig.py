"""/etc/guestinit/network: what the guest's interfaces get. Pure parsing.

The format (one section per interface; ``#`` starts a comment)::

    [eth0]                  # an interface name, or * for the first Ethernet-like one
    dhcp = yes              # a DHCP lease, renewed while the machine runs
    address = 10.0.2.15/24  # or static addresses (repeatable), with:
    gateway = 10.0.2.2      #   the default route
    dns = 10.0.2.3          #   name servers for /etc/resolv.conf (repeatable)
    search = example.org    #   search domains (repeatable)
    mtu = 1500
    wait = 10               # seconds to wait for the interface to appear (default 10)

``ip=`` on the kernel command line, when given, wins over the file (see
cmdline.py; ``ip=off`` turns the network off); without either, only loopback
comes up.
"""

import ipaddress
from dataclasses import dataclass

from guestinit.boot.cmdline import IpArgument

FIRST_ETHERNET = "*"
DEFAULT_WAIT = 10.0
_YES = {"yes": True, "true": True, "on": True, "1": True}
_NO = {"no": False, "false": False, "off": False, "0": False}


@dataclass(frozen=True)
class InterfacePlan:
    name: str  # or FIRST_ETHERNET
    dhcp: bool = False
    addresses: tuple[str, ...] = ()  # "10.0.2.15/24"
    gateway: str | None = None
    dns: tuple[str, ...] = ()
    search: tuple[str, ...] = ()
    mtu: int | None = None
    wait: float = DEFAULT_WAIT


class NetworkConfigError(ValueError):
    def __init__(self, path: str, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")


def parse(text: str, path: str = "/etc/guestinit/network") -> list[InterfacePlan]:
    """Sections in file order; raises NetworkConfigError naming file:line."""
    plans: list[InterfacePlan] = []
    current: dict[str, object] | None = None
    seen: set[str] = set()

    def close() -> None:
        if current is not None:
            plans.append(_plan(current, path))

    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("["):
            if not line.endswith("]") or len(line) < 3:
                raise NetworkConfigError(path, number, f"bad section header {line!r}")
            close()
            name = line[1:-1].strip()
            if name in seen:
                raise NetworkConfigError(path, number, f"interface {name} given twice")
            seen.add(name)
            current = {"name": name, "line": number, "addresses": [], "dns": [], "search": []}
            continue
        key, sep, value = (part.strip() for part in line.partition("="))
        if not sep or not key:
            raise NetworkConfigError(path, number, f"expected key = value, got {line!r}")
        if current is None:
            raise NetworkConfigError(path, number, f"{key} outside an [interface] section")
        _set(current, key.lower(), value, path, number)
    close()
    return plans


def _set(section: dict[str, object], key: str, value: str, path: str, number: int) -> None:
    try:
        if key == "dhcp":
            flag = {**_YES, **_NO}.get(value.lower())
            if flag is None:
                raise ValueError(f"dhcp takes yes or no, got {value!r}")
            section["dhcp"] = flag
        elif key == "address":
            interface = ipaddress.IPv4Interface(value)
            if "/" not in value:
                raise ValueError(f"address needs a prefix length, e.g. {value}/24")
            _list(section, "addresses").append(str(interface))
        elif key == "gateway":
            section["gateway"] = str(ipaddress.IPv4Address(value))
        elif key == "dns":
            _list(section, "dns").append(str(ipaddress.ip_address(value)))
        elif key == "search":
            _list(section, "search").extend(value.split())
        elif key == "mtu":
            if not value.isdigit() or not 68 <= int(value) <= 65535:
                raise ValueError(f"mtu takes 68-65535, got {value!r}")
            section["mtu"] = int(value)
        elif key == "wait":
            seconds = float(value)
            if not seconds >= 0:
                raise ValueError(f"wait takes seconds >= 0, got {value!r}")
            section["wait"] = seconds
        else:
            raise ValueError(f"unknown key {key!r}")
    except ValueError as error:
        raise NetworkConfigError(path, number, str(error)) from None


def _list(section: dict[str, object], key: str) -> list[str]:
    found = section[key]
    assert isinstance(found, list)
    return found


def _plan(section: dict[str, object], path: str) -> InterfacePlan:
    addresses = tuple(_list(section, "addresses"))
    dhcp = bool(section.get("dhcp", False))
    line = int(section["line"])  # type: ignore[call-overload]
    if dhcp and addresses:
        raise NetworkConfigError(path, line, "dhcp = yes and a static address exclude each other")
    if not dhcp and not addresses:
        raise NetworkConfigError(path, line, "neither dhcp = yes nor an address")
    if dhcp and section.get("gateway"):
        raise NetworkConfigError(path, line, "gateway comes from the lease with dhcp = yes")
    return InterfacePlan(
        name=str(section["name"]),
        dhcp=dhcp,
        addresses=addresses,
        gateway=section.get("gateway"),  # type: ignore[arg-type]
        dns=tuple(_list(section, "dns")),
        search=tuple(_list(section, "search")),
        mtu=section.get("mtu"),  # type: ignore[arg-type]
        wait=float(section.get("wait", DEFAULT_WAIT)),  # type: ignore[arg-type]
    )


def from_ip_argument(argument: IpArgument) -> InterfacePlan:
    """The plan for a kernel ``ip=`` argument."""
    return InterfacePlan(
        name=argument.device or FIRST_ETHERNET,
        dhcp=argument.dhcp,
        addresses=(argument.address,) if argument.address else (),
        gateway=argument.gateway,
        dns=argument.dns,
    )


def resolv_conf(plans: list[InterfacePlan], extra_dns: tuple[str, ...] = ()) -> str | None:
    """/etc/resolv.conf for the static name servers (None: leave the file alone)."""
    servers = [d for plan in plans for d in plan.dns] + list(extra_dns)
    search = [s for plan in plans for s in plan.search]
    if not servers and not search:
        return None
    lines = ["# written by guestinit from its network configuration"]
    if search:
        lines.append("search " + " ".join(dict.fromkeys(search)))
    lines.extend(f"nameserver {server}" for server in dict.fromkeys(servers))
    return "\n".join(lines) + "\n"
