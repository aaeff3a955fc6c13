"""The kernel command line: words, ``hostname=``, and the kernel's ``ip=`` syntax.

``ip=`` follows Documentation/admin-guide/nfs/nfsroot.rst::

    ip=<client-ip>:<server-ip>:<gw-ip>:<netmask>:<hostname>:<device>:<autoconf>:
       <dns0-ip>:<dns1-ip>:<ntp0-ip>

or a bare autoconf word: ``ip=dhcp`` (also ``on``, ``any``), ``ip=off``/``none``.
Empty fields are allowed and trailing ones may be left out. The netmask may be
dotted (255.255.255.0) or, as an extension, a prefix length (24).
"""

from dataclasses import dataclass

DHCP_WORDS = frozenset({"dhcp", "on", "any", "both", "bootp", "rarp"})
OFF_WORDS = frozenset({"off", "none"})


def words(text: str) -> list[str]:
    """Words of /proc/cmdline; double quotes group (``foo="a b"``), as the kernel does."""
    found: list[str] = []
    current: list[str] = []
    quoted = False
    started = False
    for char in text:
        if char == '"':
            quoted = not quoted
            started = True
        elif char.isspace() and not quoted:
            if started:
                found.append("".join(current))
            current, started = [], False
        else:
            current.append(char)
            started = True
    if started:
        found.append("".join(current))
    return found


def values(text: str) -> dict[str, str]:
    """key=value words (the last one wins, as with the kernel's own parameters)."""
    result: dict[str, str] = {}
    for word in words(text):
        key, sep, value = word.partition("=")
        if sep:
            result[key] = value
    return result


@dataclass(frozen=True)
class IpArgument:
    """What ``ip=`` asks for. ``dhcp`` and ``address`` exclude each other;
    ``device`` None means the first Ethernet-like interface."""

    dhcp: bool
    device: str | None = None
    address: str | None = None  # "10.0.2.15/24"
    gateway: str | None = None
    hostname: str | None = None
    dns: tuple[str, ...] = ()


def parse_ip(text: str) -> IpArgument | None:
    """``ip=`` value -> IpArgument; None for off/none. Raises ValueError naming the field."""
    if text in OFF_WORDS:
        return None
    if text in DHCP_WORDS or text == "":
        return IpArgument(dhcp=True)
    fields = (text.split(":") + [""] * 10)[:10]
    client, _server, gateway, netmask, hostname, device, autoconf, dns0, dns1, _ntp = fields
    if autoconf in OFF_WORDS:
        autoconf = ""
    if autoconf and autoconf not in DHCP_WORDS:
        raise ValueError(f"ip=: unknown autoconf {autoconf!r} (dhcp, on, any, off, none)")
    dns = tuple(_address(d, "dns") for d in (dns0, dns1) if d)
    common = {
        "device": device or None,
        "hostname": hostname or None,
        "dns": dns,
        "gateway": _address(gateway, "gateway") if gateway else None,
    }
    if autoconf or not client:
        if not autoconf and not client:
            raise ValueError("ip=: neither a client address nor an autoconf method")
        return IpArgument(dhcp=True, **common)  # type: ignore[arg-type]
    address = _address(client, "client-ip")
    prefix = _prefix(netmask, address)
    return IpArgument(dhcp=False, address=f"{address}/{prefix}", **common)  # type: ignore[arg-type]


def _address(text: str, what: str) -> str:
    import ipaddress  # only for ip=: ~100 ms of a boot under TCG otherwise

    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        raise ValueError(f"ip=: {what} {text!r} is not an IPv4 address") from None


def _prefix(netmask: str, address: str) -> int:
    if not netmask:
        # The kernel derives a classful mask; a /24 for 10.x would be wrong, so
        # say what we pick: the class of the address.
        first = int(address.split(".", maxsplit=1)[0])
        return 8 if first < 128 else 16 if first < 192 else 24
    if netmask.isdigit() and 0 <= int(netmask) <= 32:
        return int(netmask)
    import ipaddress

    try:
        return ipaddress.IPv4Network(f"0.0.0.0/{netmask}").prefixlen
    except ValueError:
        raise ValueError(f"ip=: netmask {netmask!r} is neither dotted nor a length") from None
