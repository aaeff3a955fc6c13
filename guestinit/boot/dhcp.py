"""DHCP for the network helper: pyroute2's asyncio client (0.9 and later), one per
interface, with its own hooks adding the address and default route and ours
writing /etc/resolv.conf. Runs until SIGTERM, renewing as the lease says; the
lease is kept on exit (no DHCPRELEASE), as a machine going down still uses it."""

import asyncio
import os
import signal
from collections.abc import Callable

from guestinit.boot import netconfig
from guestinit.boot.network_io import say, write_resolv

FIRST_LEASE_TIMEOUT = 30.0


def run(interfaces: list[str], resolv: str, lease_dir: str, ready: Callable[[], None]) -> int:
    """Lease and renew on each interface until SIGTERM; ``ready`` is called once
    every interface has its first lease applied."""
    try:
        from pyroute2.dhcp.client import AsyncDHCPClient, ClientConfig  # noqa: F401
    except ImportError as error:
        say(f"DHCP needs pyroute2 0.9 or later ({error}); use a static address")
        return 1
    os.makedirs(lease_dir, exist_ok=True)
    os.chdir(lease_dir)  # pyroute2 keeps its lease files in the working directory
    return asyncio.run(_serve(interfaces, resolv, ready))


async def _serve(interfaces: list[str], resolv: str, ready: Callable[[], None]) -> int:
    from pyroute2 import AsyncIPRoute
    from pyroute2.dhcp import hooks
    from pyroute2.dhcp.client import AsyncDHCPClient, ClientConfig
    from pyroute2.dhcp.enums import dhcp as dhcp_enums
    from pyroute2.dhcp.fsm import State
    from pyroute2.dhcp.leases import Lease

    @hooks.hook(hooks.Trigger.BOUND, hooks.Trigger.RENEWED, hooks.Trigger.REBOUND)  # type: ignore[untyped-decorator]
    async def name_servers(lease: Lease) -> None:
        try:
            servers = tuple(lease.name_servers)
        except LookupError:
            return
        plan = netconfig.InterfacePlan(name=lease.interface, dhcp=True, dns=servers)
        text = netconfig.resolv_conf([plan])
        if text is not None:
            write_resolv(resolv, text)

    # pyroute2's own gateway hook fails loudly on a lease without routers (qemu's
    # user network with restrict=on offers none): only call it when there is one.
    @hooks.hook(hooks.Trigger.BOUND)  # type: ignore[untyped-decorator]
    async def gateway(lease: Lease) -> None:
        try:
            lease.default_gateway  # noqa: B018  # raises when the lease has no router
        except (LookupError, IndexError):
            return
        await hooks.add_default_gw(lease)

    bound: set[str] = set()

    # Last of the hooks: the address, the route and resolv.conf are in place.
    @hooks.hook(hooks.Trigger.BOUND)  # type: ignore[untyped-decorator]
    async def report(lease: Lease) -> None:
        say(f"{lease.interface}: {lease.ip}/{lease.prefixlen} from DHCP")
        if lease.interface not in bound:
            bound.add(lease.interface)
            if bound == set(interfaces):
                ready()

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    async with AsyncIPRoute() as ipr:
        for name in interfaces:
            (index,) = await ipr.link_lookup(ifname=name)
            await ipr.link("set", index=index, state="up")
    requested = (
        dhcp_enums.Option.SUBNET_MASK, dhcp_enums.Option.ROUTER,
        dhcp_enums.Option.NAME_SERVER, dhcp_enums.Option.DOMAIN_NAME,
        dhcp_enums.Option.LEASE_TIME, dhcp_enums.Option.RENEWAL_TIME,
        dhcp_enums.Option.REBINDING_TIME, dhcp_enums.Option.BROADCAST_ADDRESS,
    )  # fmt: skip
    clients = [
        AsyncDHCPClient(
            ClientConfig(
                interface=name,
                hooks=(hooks.configure_ip, gateway, name_servers, report),
                requested_parameters=requested,
                release=False,
                handle_signals=False,
            )
        )
        for name in interfaces
    ]
    for client in clients:
        await client.__aenter__()
        await client.bootstrap()
    # A first lease on each, or SIGTERM (a shutdown must not wait for DHCP).
    waiters = [
        asyncio.ensure_future(client.wait_for_state(State.BOUND, timeout=FIRST_LEASE_TIMEOUT))
        for client in clients
    ]

    async def stopping() -> None:
        await stop.wait()

    async def leases() -> None:
        await asyncio.gather(*waiters, return_exceptions=True)

    stopped = asyncio.ensure_future(stopping())
    first = {stopped, asyncio.ensure_future(leases())}
    await asyncio.wait(first, return_when=asyncio.FIRST_COMPLETED)
    failed = 0
    for name, waiter in zip(interfaces, waiters, strict=True):
        if not waiter.done() or waiter.exception() is not None:
            waiter.cancel()
            if not stop.is_set():
                say(f"{name}: no DHCP lease within {FIRST_LEASE_TIMEOUT:g}s (still trying)")
            failed = 1
    await stopped
    for client in clients:
        await client.__aexit__(None, None, None)
    return failed
