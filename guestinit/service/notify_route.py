"""Notifications to the unit they come from (side effects: reads the notify
socket, logs): the sender's kernel-given pid finds the unit, NotifyAccess=
decides whether it may speak, service.main_pid whether a MAINPID= is taken,
and what passes becomes one ``Notified`` event for the model.

Every warning here can be provoked at will by any process that can reach the
socket (any user: the socket is world-writable), so all are rate-limited.
"""

import time
from collections.abc import Callable

from guestinit import _log
from guestinit._ratelimit import LimitedLog
from guestinit.service import model as svc
from guestinit.service.main_pid import Source, describe_refusal
from guestinit.service.notify_message import sender_allowed
from guestinit.service.notify_socket import NotifySocket, Received
from guestinit.service.ownership import Ownership
from guestinit.service.registry import Unit
from guestinit.service.states import Role
from guestinit.service.tracking import ProcessTable


class NotifyRoute:
    def __init__(
        self,
        notify: NotifySocket,
        units: dict[str, Unit],
        pids: dict[int, tuple[str, Role]],
        owner: Ownership,
        limited: LimitedLog,
        feed: Callable[[Unit, svc.Event, float], None],
        table: Callable[[], ProcessTable],
    ) -> None:
        self._notify = notify
        self._units = units
        self._pids = pids
        self._owner = owner
        self._limited = limited
        self._feed = feed
        self._table = table

    def on_readable(self) -> None:
        received = self._notify.receive()
        for dropped in self._notify.take_dropped():
            self._limited.warning_of(
                f"notify: datagrams dropped ({dropped.reason})",
                f"notify: dropped a datagram ({dropped.reason}) from pid {dropped.pid or '?'}",
            )
        now = time.monotonic()
        for message in received:
            unit = self._unit_of(message.pid)
            if unit is None or unit.state is None or unit.spec is None:
                self._limited.log.debug(
                    f"notify from {message.pid}, which belongs to no unit: ignored"
                )
                continue
            self._on_unit_notify(unit, message, now)

    def _unit_of(self, pid: int) -> Unit | None:
        owner = self._pids.get(pid)
        if owner is not None:
            return self._units[owner[0]]
        table = self._table()
        return next(
            (
                u
                for u in self._units.values()
                if u.state is not None and pid in self._owner.members(u, table)
            ),
            None,
        )

    def _on_unit_notify(self, unit: Unit, message: Received, now: float) -> None:
        assert unit.state is not None and unit.spec is not None
        service = unit.spec.service
        access = service.notify_access.value if service else "none"
        control = {unit.state.control_pid} if unit.state.control_pid else set()
        members: set[int] = set()
        if access == "all" and message.pid not in {unit.state.main_pid, *control}:
            members = self._owner.members(unit, self._table())
        if not sender_allowed(access, message.pid, unit.state.main_pid, control, members):
            # NotifyAccess=none (the default of non-notify types) ignores
            # quietly: sshd says READY=1 under any Type=.
            level = _log.DEBUG if access == "none" else _log.WARNING
            self._limited.emit(
                level,
                f"{unit.name}: notifications refused",
                f"{unit.name}: notification from {message.pid} refused (NotifyAccess={access})",
            )
            return
        m = message.message
        main_pid = m.main_pid if m.main_pid != unit.state.main_pid else None
        if main_pid is not None:
            # systemd's rule: root may name a process outside the unit.
            verdict = self._owner.judge(unit, main_pid, trusted=message.uid == 0)
            if not verdict:
                why = f"sender {message.pid} runs as uid {message.uid}"
                text = describe_refusal(Source.NOTIFY, verdict, why)
                self._limited.warning_of(f"{unit.name}: MAINPID= refused", f"{unit.name}: {text}")
                main_pid = None  # the rest of the message (READY=1 ...) still counts
        self._feed(
            unit,
            svc.Notified(
                ready=m.ready,
                reloading=m.reloading,
                stopping=m.stopping,
                status=m.status,
                main_pid=main_pid,
                watchdog=m.watchdog,
                watchdog_trigger=m.watchdog_trigger,
                watchdog_usec=m.watchdog_usec,
                extend_timeout_usec=m.extend_timeout_usec,
            ),
            now,
        )
        if main_pid is not None and unit.state is not None and unit.state.main_pid == main_pid:
            self._owner.adopt(unit, main_pid)
