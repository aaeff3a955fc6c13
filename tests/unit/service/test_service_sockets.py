"""guestinit.service.sockets: [Socket] parsing, addresses, instance names,
admission and the trigger limit (pure)."""

from pathlib import Path

import pytest

from guestinit.service.sockets import (
    Address,
    Admission,
    BindIPv6Only,
    Family,
    ListenKind,
    SocketConfig,
    admit,
    default_service,
    instance_name,
    parse_address,
    parse_socket,
    source_of,
    trigger_allowed,
)
from guestinit.unitfile import parse_unit_text

DEBIAN = Path(__file__).resolve().parents[2] / "fixtures" / "units"


def parsed(body: str, name: str = "app.socket") -> tuple[SocketConfig | None, list[str]]:
    result = parse_unit_text(f"[Socket]\n{body}", name, f"/u/{name}")
    assert result.spec is not None
    return parse_socket(result.spec)


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("/run/app.sock", Address(Family.UNIX, path="/run/app.sock")),
        ("@app", Address(Family.ABSTRACT, path="app")),
        ("22", Address(Family.ANY, port=22)),
        ("127.0.0.1:8080", Address(Family.INET, host="127.0.0.1", port=8080)),
        ("[::1]:8080", Address(Family.INET6, host="::1", port=8080)),
        ("[fe80::1%eth0]:53", Address(Family.INET6, host="fe80::1", port=53)),
    ],
)
def test_addresses(text: str, address: Address) -> None:
    assert parse_address(text) == address


@pytest.mark.parametrize(
    "text", ["@", "0", "65536", "localhost:80", "1.2.3:80", "[::1]80", "[nothost]:1", "x"]
)
def test_bad_addresses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_address(text)


def test_debian_units_parse_without_a_problem() -> None:
    for directory, name, accept, service in (
        ("debian", "ssh.socket", False, "ssh.service"),
        ("debian11", "ssh.socket", True, "ssh@.service"),
    ):
        path = DEBIAN / directory / name
        spec = parse_unit_text(path.read_text(), name, str(path)).spec
        assert spec is not None
        config, problems = parse_socket(spec)
        assert problems == [] and config is not None
        assert (config.accepts, config.service) == (accept, service)
        assert config.listens[0].address == Address(Family.ANY, port=22)


def test_defaults() -> None:
    config, problems = parsed("ListenStream=/run/a.sock\n")
    assert problems == [] and config is not None
    assert config.service == "app.service" and config.descriptor_name == "app.socket"
    assert (config.socket_mode, config.directory_mode) == (0o666, 0o755)
    assert (config.max_connections, config.max_connections_per_source) == (64, 0)
    assert config.backlog == 4294967295 and not config.accept and not config.remove_on_stop


def test_every_setting() -> None:
    config, problems = parsed(
        "ListenStream=127.0.0.1:80\nListenDatagram=@dgram\nListenSequentialPacket=/run/s\n"
        "ListenFIFO=/run/f\nService=web.service\nFileDescriptorName=web\nBacklog=16\n"
        "SocketUser=nobody\nSocketGroup=nogroup\nSocketMode=0600\nDirectoryMode=0700\n"
        "RemoveOnStop=yes\nBindIPv6Only=ipv6-only\nReusePort=true\nFreeBind=on\n"
        "PassCredentials=1\nReceiveBuffer=8M\nSendBuffer=64K\nMaxConnections=3\n"
        "MaxConnectionsPerSource=1\nTriggerLimitIntervalSec=5s\nTriggerLimitBurst=4\n"
    )
    assert problems == [] and config is not None
    assert [listen.kind for listen in config.listens] == [
        ListenKind.STREAM,
        ListenKind.DATAGRAM,
        ListenKind.SEQPACKET,
        ListenKind.FIFO,
    ], "the order of the lines, across keys"
    assert config.service == "web.service" and config.descriptor_name == "web"
    assert (config.backlog, config.socket_user, config.socket_group) == (16, "nobody", "nogroup")
    assert (config.socket_mode, config.directory_mode, config.remove_on_stop) == (
        0o600,
        0o700,
        True,
    )
    assert config.bind_ipv6_only is BindIPv6Only.IPV6_ONLY
    assert config.reuse_port and config.free_bind and config.pass_credentials
    assert (config.receive_buffer, config.send_buffer) == (8 * 1024**2, 64 * 1024)
    assert (config.max_connections, config.max_connections_per_source) == (3, 1)
    assert (config.trigger_limit_interval, config.trigger_limit_burst) == (5.0, 4)
    assert [listen.is_file for listen in config.listens] == [False, False, True, True]


def test_empty_listen_resets_and_specifiers_resolve() -> None:
    config, problems = parsed("ListenStream=/run/old\nListenDatagram=\nListenStream=%t/%p.sock\n")
    assert problems == [] and config is not None
    assert [listen.address.path for listen in config.listens] == ["/run/app.sock"]


def test_accept_yes_names_a_template_and_refuses_service() -> None:
    config, problems = parsed("ListenStream=22\nAccept=yes\nService=other.service\n", "ssh.socket")
    assert config is not None and config.service == "ssh@.service"
    assert problems == ["/u/ssh.socket: Service= is not allowed with Accept=yes; ignored"]
    # Accept= means nothing for datagram sockets: one service handles them all.
    datagram, _ = parsed("ListenDatagram=@d\nAccept=yes\n", "log.socket")
    assert datagram is not None and not datagram.accepts and datagram.service == "log.service"


def test_problems_name_file_and_line_and_skip_only_the_line() -> None:
    config, problems = parsed(
        "ListenStream=nowhere\nListenStream=/run/ok\nSocketMode=999\nAccept=maybe\n"
        "FileDescriptorName=a:b\nListenFIFO=relative\nBindToDevice=eth0\n"
    )
    assert config is not None and [listen.text for listen in config.listens] == ["/run/ok"]
    assert config.socket_mode == 0o666 and not config.accept
    lines = [int(problem.split(":")[1]) for problem in problems]
    assert lines == [2, 4, 5, 6, 7, 8], "one each, in file order"
    assert any("BindToDevice=eth0: not implemented by guestinit" in p for p in problems)


def test_nothing_to_listen_on_is_refused() -> None:
    config, problems = parsed("Accept=no\n")
    assert config is None
    assert problems == ["/u/app.socket: app.socket has no Listen*= address: not started"]


def test_default_service() -> None:
    assert default_service("ssh.socket", accept=False) == "ssh.service"
    assert default_service("ssh.socket", accept=True) == "ssh@.service"


def test_instance_names_as_systemd_252_forms_them() -> None:
    local, remote = ("127.0.0.1", 22), ("127.0.0.1", 40000)
    assert instance_name("ssh@.service", 0, local, remote) == (
        "ssh@0-127.0.0.1:22-127.0.0.1:40000.service"
    )
    v6 = instance_name("ssh@.service", 7, ("::1", 22, 0, 0), ("::1", 5000, 0, 0))
    assert v6 == "ssh@7-::1:22-::1:5000.service"
    mapped = instance_name(
        "ssh@.service", 1, ("::ffff:10.0.0.1", 22, 0, 0), ("::ffff:10.0.0.2", 9, 0, 0)
    )
    assert mapped == "ssh@1-10.0.0.1:22-10.0.0.2:9.service"
    assert instance_name("echo@.service", 2, "/run/e.sock", "", (123, 0)) == (
        "echo@2-123-0.service"
    )
    assert instance_name("echo@.service", 3, b"\0e", b"", None) == "echo@3-unknown.service"


def test_admission_and_sources() -> None:
    config = SocketConfig("a.socket", (), max_connections=2, max_connections_per_source=1)
    assert admit(config, 0, 0) is Admission.ACCEPT
    assert admit(config, 1, 1) is Admission.TOO_MANY_FROM_SOURCE
    assert admit(config, 2, 0) is Admission.TOO_MANY
    unlimited = SocketConfig("a.socket", (), max_connections=2)
    assert admit(unlimited, 1, 5) is Admission.ACCEPT
    assert source_of(("::ffff:10.0.0.2", 9, 0, 0), None) == source_of(("10.0.0.2", 1), None)
    assert source_of("", (5, 1000)) == "uid:1000"


def test_trigger_limit() -> None:
    config = SocketConfig("a.socket", (), trigger_limit_interval=2.0, trigger_limit_burst=3)
    recent: list[float] = []
    assert [trigger_allowed(config, recent, t) for t in (0.0, 0.5, 1.0, 1.5)] == [
        True,
        True,
        True,
        False,
    ]
    assert trigger_allowed(config, recent, 2.2), "the first ones left the window"
