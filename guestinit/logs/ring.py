"""The last log lines of every unit, in memory (pure but for the clock the
caller passes in): what ``ctl logs``, ``ctl status`` and the journalctl shim show.

Bounded twice: at most ``per_unit`` lines for each unit, and ``total_bytes``
of messages for all together; past the second bound the oldest line of the
unit holding the most goes first, so one chatty unit cannot push a quiet
one's last words out. Every line gets a sequence number (a cursor): a
follower asks for what came after the last one it saw.
"""

from collections import deque

PER_UNIT = 1000
TOTAL_BYTES = 8 * 1024 * 1024
_OVERHEAD = 64  # bytes counted per line besides its message (the fields)


class Record:
    __slots__ = ("message", "name", "pid", "priority", "seq", "stream", "time", "unit")

    def __init__(
        self,
        seq: int,
        time: float,
        unit: str | None,
        name: str,
        pid: int | None,
        stream: str,
        priority: int,
        message: str,
    ) -> None:
        self.seq = seq
        self.time = time  # epoch seconds
        self.unit = unit  # None: a syslog sender that belongs to no unit
        self.name = name  # SyslogIdentifier= or the syslog ident
        self.pid = pid
        self.stream = stream  # "stdout" (stdout and stderr share one pipe) or "syslog"
        self.priority = priority  # syslog severity 0-7
        self.message = message

    def as_dict(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__slots__}


class LogRing:
    def __init__(self, per_unit: int = PER_UNIT, total_bytes: int = TOTAL_BYTES) -> None:
        self._per_unit = per_unit
        self._limit = total_bytes
        self._units: dict[str | None, deque[Record]] = {}
        self._bytes: dict[str | None, int] = {}
        self._total = 0
        self.last_seq = 0

    def add(
        self,
        when: float,
        unit: str | None,
        name: str,
        pid: int | None,
        message: str,
        stream: str = "stdout",
        priority: int = 6,
    ) -> Record:
        self.last_seq += 1
        record = Record(self.last_seq, when, unit, name, pid, stream, priority, message)
        lines = self._units.setdefault(unit, deque())
        size = len(message) + _OVERHEAD
        lines.append(record)
        self._bytes[unit] = self._bytes.get(unit, 0) + size
        self._total += size
        if len(lines) > self._per_unit:
            self._drop_oldest(unit)
        while self._total > self._limit:
            self._drop_oldest(max(self._bytes, key=self._bytes.__getitem__))
        return record

    def _drop_oldest(self, unit: str | None) -> None:
        old = self._units[unit].popleft()
        size = len(old.message) + _OVERHEAD
        self._bytes[unit] -= size
        self._total -= size
        if not self._units[unit]:
            del self._units[unit], self._bytes[unit]

    def units(self) -> set[str]:
        return {unit for unit in self._units if unit is not None}

    def query(
        self,
        units: "set[str] | None" = None,
        after: int = 0,
        lines: int | None = None,
        since: float | None = None,
    ) -> list[Record]:
        """Records of ``units`` (None: all) newer than cursor ``after`` and
        time ``since``, oldest first; the last ``lines`` of them."""
        chosen = [
            record
            for unit, records in self._units.items()
            if units is None or unit in units
            for record in records
            if record.seq > after and (since is None or record.time >= since)
        ]
        chosen.sort(key=lambda record: record.seq)
        if lines is not None:
            chosen = chosen[-lines:] if lines > 0 else []
        return chosen
