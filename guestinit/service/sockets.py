"""[Socket] units as data (pure): what to listen on, how to hand the
descriptors to the service, and the small decisions of socket activation
(systemd.socket(5)). The binding, accepting and watching live in
guestinit.service.socket_units.

Implemented: ListenStream=, ListenDatagram=, ListenSequentialPacket= (a path,
an abstract ``@name``, a port, ``v.w.x.y:port``, ``[v6]:port``), ListenFIFO=,
Accept=, Service=, FileDescriptorName=, MaxConnections=,
MaxConnectionsPerSource=, Backlog=, SocketUser=, SocketGroup=, SocketMode=,
DirectoryMode=, RemoveOnStop=, BindIPv6Only=, ReusePort=, FreeBind=,
PassCredentials=, ReceiveBuffer=, SendBuffer=, TriggerLimitIntervalSec=,
TriggerLimitBurst=. Other [Socket] keys get one note each and are ignored.
"""

import dataclasses
import enum
import ipaddress

from guestinit.unitfile import (
    SpecifierContext,
    SpecifierError,
    UnitSpec,
    parse_timespan,
    parse_unit_name,
    resolve_specifiers,
)


class ListenKind(enum.Enum):
    STREAM = "ListenStream"
    DATAGRAM = "ListenDatagram"
    SEQPACKET = "ListenSequentialPacket"
    FIFO = "ListenFIFO"


class Family(enum.Enum):
    UNIX = "unix"  # a path in the file system
    ABSTRACT = "abstract"  # Linux's abstract namespace: "@name"
    INET = "inet"
    INET6 = "inet6"
    # A bare port: IPv6 "::" when the kernel has IPv6 (both families unless
    # BindIPv6Only=ipv6-only), else IPv4 "0.0.0.0" -- as systemd does.
    ANY = "any"


class BindIPv6Only(enum.Enum):
    DEFAULT = "default"
    BOTH = "both"
    IPV6_ONLY = "ipv6-only"


@dataclasses.dataclass(frozen=True)
class Address:
    family: Family
    path: str = ""  # UNIX, ABSTRACT (without the "@"), FIFO
    host: str = ""  # INET, INET6
    port: int = 0


@dataclasses.dataclass(frozen=True)
class Listen:
    kind: ListenKind
    address: Address
    text: str  # as written, for messages

    @property
    def is_file(self) -> bool:
        """A node in the file system (chown, chmod, RemoveOnStop= apply)."""
        return self.kind is ListenKind.FIFO or self.address.family is Family.UNIX


@dataclasses.dataclass(frozen=True)
class SocketConfig:
    name: str  # "ssh.socket"
    listens: tuple[Listen, ...]
    accept: bool = False
    service: str = ""  # the unit to start; "NAME@.service" (a template) with Accept=yes
    fd_name: str = ""
    max_connections: int = 64
    max_connections_per_source: int = 0  # 0: no limit
    backlog: int = 4294967295  # the kernel caps it at net.core.somaxconn
    socket_user: str | None = None
    socket_group: str | None = None
    socket_mode: int = 0o666
    directory_mode: int = 0o755
    remove_on_stop: bool = False
    bind_ipv6_only: BindIPv6Only = BindIPv6Only.DEFAULT
    reuse_port: bool = False
    free_bind: bool = False
    pass_credentials: bool = False
    receive_buffer: int = 0
    send_buffer: int = 0
    trigger_limit_interval: float = 2.0
    trigger_limit_burst: int = 20

    @property
    def accepts(self) -> bool:
        """Accept=yes counts only where there are connections to accept:
        systemd ignores it for datagram sockets and FIFOs."""
        return self.accept and all(
            listen.kind in (ListenKind.STREAM, ListenKind.SEQPACKET) for listen in self.listens
        )

    @property
    def descriptor_name(self) -> str:
        return self.fd_name or self.name


_BOOLEANS = {
    "1": True,
    "yes": True,
    "y": True,
    "true": True,
    "t": True,
    "on": True,
    "0": False,
    "no": False,
    "n": False,
    "false": False,
    "f": False,
    "off": False,
}
_LISTEN_KEYS = {kind.value: kind for kind in ListenKind}
_FLAGS = {
    "Accept": "accept",
    "RemoveOnStop": "remove_on_stop",
    "ReusePort": "reuse_port",
    "FreeBind": "free_bind",
    "PassCredentials": "pass_credentials",
}
_COUNTS = {
    "MaxConnections": "max_connections",
    "MaxConnectionsPerSource": "max_connections_per_source",
    "Backlog": "backlog",
    "TriggerLimitBurst": "trigger_limit_burst",
}
_MODES = {"SocketMode": "socket_mode", "DirectoryMode": "directory_mode"}
_SIZES = {"ReceiveBuffer": "receive_buffer", "SendBuffer": "send_buffer"}
# Keys systemd knows that change nothing a service here can notice; accepted quietly.
_QUIET = frozenset({"PassSecurity", "PassPacketInfo", "Timestamping", "KeepAlive", "NoDelay"})


def parse_address(text: str) -> Address:
    """A Listen*= socket address as systemd.socket(5) writes them; ValueError
    names what is wrong."""
    if text.startswith("/"):
        return Address(Family.UNIX, path=text)
    if text.startswith("@"):
        if len(text) == 1:
            raise ValueError("an abstract socket needs a name after '@'")
        return Address(Family.ABSTRACT, path=text[1:])
    if text.isdigit():
        return Address(Family.ANY, port=_port(text))
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or not rest.startswith(":"):
            raise ValueError("an IPv6 address is written [ADDRESS]:PORT")
        host = host.partition("%")[0]  # an interface scope: bind on every interface
        ipaddress.IPv6Address(host)
        return Address(Family.INET6, host=host, port=_port(rest[1:]))
    host, colon, port = text.rpartition(":")
    if not colon:
        raise ValueError("not a path, @name, port, ADDRESS:PORT or [ADDRESS]:PORT")
    ipaddress.IPv4Address(host)
    return Address(Family.INET, host=host, port=_port(port))


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"{text!r} is not a port (1-65535)")
    return int(text)


def _mode(text: str) -> int:
    if not text or any(c not in "01234567" for c in text) or int(text, 8) > 0o7777:
        raise ValueError("not an octal access mode")
    return int(text, 8)


def _size(text: str) -> int:
    factors = {"K": 1024, "M": 1024**2, "G": 1024**3}
    factor = factors.get(text[-1:].upper(), 1)
    number = text[:-1] if factor != 1 else text
    if not number.isdigit():
        raise ValueError("not a size (like 8M)")
    return int(number) * factor


def _count(text: str) -> int:
    if not text.isdigit():
        raise ValueError("not a non-negative number")
    return int(text)


def default_service(socket_name: str, accept: bool) -> str:
    """ssh.socket -> ssh.service, or the template ssh@.service with Accept=yes."""
    stem = socket_name.removesuffix(".socket")
    return f"{stem}@.service" if accept else f"{stem}.service"


def parse_socket(spec: UnitSpec) -> tuple[SocketConfig | None, list[str]]:
    """[Socket] -> SocketConfig, with problems as "file:line: message". None
    when nothing is left to listen on (systemd refuses such a unit)."""
    raw = spec.raw.get("Socket", {})
    problems: list[str] = []
    values: dict[str, object] = {}
    listens: list[Listen] = []
    unit_name = parse_unit_name(spec.name)
    # Keys come grouped; the lines count in file order (the file, then its
    # drop-ins): an empty Listen*= resets the ones before it, and the order
    # of the lines is the order of the descriptors a service gets.
    files = {path: rank for rank, path in enumerate((spec.path, *spec.dropin_paths))}
    entries = sorted(
        ((key, entry) for key, values_of_key in raw.items() for entry in values_of_key),
        key=lambda item: (files.get(item[1].at.file, len(files)), item[1].at.line),
    )
    for key, entry in entries:
        where = f"{entry.at.file}:{entry.at.line}: {key}={entry.value}"
        try:
            value = entry.value.strip()
            if "%" in value:
                value = resolve_specifiers(value, unit_name, SpecifierContext())
            if key in _LISTEN_KEYS:
                if not value:
                    listens.clear()  # an empty assignment resets the list
                    continue
                kind = _LISTEN_KEYS[key]
                if kind is ListenKind.FIFO:
                    if not value.startswith("/"):
                        raise ValueError("a FIFO needs an absolute path")
                    address = Address(Family.UNIX, path=value)
                else:
                    address = parse_address(value)
                listens.append(Listen(kind, address, value))
            elif key in _FLAGS:
                flag = _BOOLEANS.get(value.lower())
                if flag is None:
                    raise ValueError("not a boolean")
                values[_FLAGS[key]] = flag
            elif key in _COUNTS:
                values[_COUNTS[key]] = _count(value)
            elif key in _MODES:
                values[_MODES[key]] = _mode(value)
            elif key in _SIZES:
                values[_SIZES[key]] = _size(value)
            elif key in ("SocketUser", "SocketGroup"):
                field = "socket_user" if key == "SocketUser" else "socket_group"
                values[field] = value or None
            elif key == "Service":
                if not value.endswith(".service"):
                    raise ValueError("Service= names a .service unit")
                values["service"] = value
            elif key == "FileDescriptorName":
                if ":" in value or len(value) > 255 or not value.isprintable():
                    raise ValueError("a name without ':' or control characters, <= 255")
                values["fd_name"] = value
            elif key == "BindIPv6Only":
                values["bind_ipv6_only"] = BindIPv6Only(value)
            elif key == "TriggerLimitIntervalSec":
                values["trigger_limit_interval"] = parse_timespan(value)
            elif key not in _QUIET:
                problems.append(f"{where}: not implemented by guestinit; ignored")
        except (ValueError, SpecifierError) as error:
            problems.append(f"{where}: {error}; ignored")
    ordered = tuple(listens)
    config = SocketConfig(name=spec.name, listens=ordered, **values)  # type: ignore[arg-type]
    if config.accept and "service" in values:
        problems.append(f"{spec.path}: Service= is not allowed with Accept=yes; ignored")
        config = dataclasses.replace(config, service="")
    if not config.service:
        config = dataclasses.replace(config, service=default_service(spec.name, config.accepts))
    if not ordered:
        problems.append(f"{spec.path}: {spec.name} has no Listen*= address: not started")
        return None, problems
    return config, problems


# ---- Accept=yes: instances ---------------------------------------------------------
SockAddr = tuple[object, ...] | str | bytes


def instance_name(
    template: str,
    number: int,
    local: SockAddr,
    remote: SockAddr,
    peer: tuple[int, int] | None = None,
) -> str:
    """The service started for connection ``number`` (counted from 0), named
    as systemd 252 names it: ``ssh@0-127.0.0.1:22-127.0.0.1:40000.service``
    for IP (IPv4-mapped IPv6 shown as IPv4), ``NAME@N-PID-UID.service`` for
    AF_UNIX (``peer``: the SO_PEERCRED pid and uid), ``NAME@N-unknown`` when
    there is none. ``local``/``remote`` are Python's socket addresses."""
    prefix = template.removesuffix("@.service")
    if isinstance(local, tuple) and isinstance(remote, tuple):
        here, there = _host(str(local[0])), _host(str(remote[0]))
        instance = f"{number}-{here}:{local[1]}-{there}:{remote[1]}"
    elif peer is not None:
        instance = f"{number}-{peer[0]}-{peer[1]}"
    else:
        instance = f"{number}-unknown"
    return f"{prefix}@{instance}.service"


def _host(text: str) -> str:
    address = ipaddress.ip_address(text.partition("%")[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


def source_of(remote: SockAddr, peer: tuple[int, int] | None) -> str:
    """What MaxConnectionsPerSource= counts by: the remote IP address (mapped
    IPv4 as IPv4), or for AF_UNIX the peer's uid."""
    if isinstance(remote, tuple):
        return _host(str(remote[0]))
    return f"uid:{peer[1]}" if peer is not None else "unknown"


class Admission(enum.Enum):
    ACCEPT = "accept"
    TOO_MANY = "too many connections"
    TOO_MANY_FROM_SOURCE = "too many connections from this source"


def admit(config: SocketConfig, running: int, from_source: int) -> Admission:
    """Whether one more connection gets an instance, given how many run now
    and how many of those come from the same source."""
    if running >= config.max_connections:
        return Admission.TOO_MANY
    per_source = config.max_connections_per_source
    if per_source and from_source >= per_source:
        return Admission.TOO_MANY_FROM_SOURCE
    return Admission.ACCEPT


def trigger_allowed(config: SocketConfig, recent: list[float], now: float) -> bool:
    """TriggerLimit*: at most burst activations within the interval.
    ``recent`` (the activation times so far) is pruned and appended to."""
    recent[:] = [at for at in recent if now - at < config.trigger_limit_interval]
    if config.trigger_limit_burst and len(recent) >= config.trigger_limit_burst:
        return False
    recent.append(now)
    return True
