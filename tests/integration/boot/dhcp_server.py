"""A minimal DHCP server for the network helper's test: one fixed lease (OFFER
for DISCOVER, ACK for REQUEST) with a router and a name server, on one
interface, until killed. Run inside the server's network namespace.

    python dhcp_server.py IFACE SERVER_IP CLIENT_IP ROUTER DNS
"""

import socket
import struct
import sys

DISCOVER, OFFER, REQUEST, ACK = 1, 2, 3, 5
COOKIE = b"\x63\x82\x53\x63"


def options_of(packet: bytes) -> dict[int, bytes]:
    found: dict[int, bytes] = {}
    index = 240
    while index < len(packet) and packet[index] != 255:
        code = packet[index]
        if code == 0:
            index += 1
            continue
        length = packet[index + 1]
        found[code] = packet[index + 2 : index + 2 + length]
        index += 2 + length
    return found


def reply(request: bytes, kind: int, server: str, client: str, router: str, dns: str) -> bytes:
    xid, chaddr = request[4:8], request[28:44]
    header = struct.pack("!BBBB", 2, 1, 6, 0) + xid + b"\0\0\x80\0"  # broadcast flag
    addresses = socket.inet_aton("0.0.0.0") + socket.inet_aton(client)
    addresses += socket.inet_aton(server) + socket.inet_aton("0.0.0.0")
    body = header + addresses + chaddr + b"\0" * 192 + COOKIE

    def option(code: int, value: bytes) -> bytes:
        return bytes([code, len(value)]) + value

    body += option(53, bytes([kind])) + option(54, socket.inet_aton(server))
    body += option(51, struct.pack("!I", 600)) + option(1, socket.inet_aton("255.255.255.0"))
    body += option(3, socket.inet_aton(router)) + option(6, socket.inet_aton(dns))
    return body + b"\xff"


def main() -> None:
    interface, server, client, router, dns = sys.argv[1:6]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, interface.encode())
    sock.bind(("0.0.0.0", 67))
    print("ready", flush=True)
    while True:
        packet, _ = sock.recvfrom(4096)
        if len(packet) < 240 or packet[236:240] != COOKIE:
            continue
        kind = options_of(packet).get(53, b"\0")[0]
        answer = {DISCOVER: OFFER, REQUEST: ACK}.get(kind)
        if answer is not None:
            print(f"got {kind}, answering {answer}", flush=True)
            sock.sendto(reply(packet, answer, server, client, router, dns), ("255.255.255.255", 68))


if __name__ == "__main__":
    main()
