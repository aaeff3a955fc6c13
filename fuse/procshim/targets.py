"""Whose cgroup answers a read: the calling process's, or its PID namespace's init's.

FUSE tells the caller's pid (in our PID namespace; 0 when it is not visible
from here). Host mode serves many containers from one mount, so every open
looks the caller up afresh; the cgroup reader for a given membership text,
and the init of a given PID namespace, are cached (bounded, least recently
used first out) and checked before use, since pids and cgroups come and go.
"""

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from procshim.cgroup import CgroupReader, process_start_ticks
from procshim.cgroup.detect import reader_for
from procshim.files import Files

CALLER = "caller"  # the reading process's own cgroup (a unit's, a nested container's)
INIT = "init"  # the cgroup of the init of the reader's PID namespace (LXCFS's choice)
VIEWS = (CALLER, INIT)

# Our mount table is re-read for a new cgroup at most this often.
_MOUNTS_FRESH_FOR = 5.0
_MAX_WALK = 64

_K = TypeVar("_K")
_V = TypeVar("_V")


class Bounded(Generic[_K, _V]):
    """A thread-safe LRU mapping of at most ``capacity`` entries."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: OrderedDict[_K, _V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: _K) -> _V | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: _K, value: _V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)

    def drop(self, key: _K) -> None:
        with self._lock:
            self._items.pop(key, None)

    def __len__(self) -> int:
        return len(self._items)


@dataclass(frozen=True)
class Target:
    key: str  # the /proc/PID/cgroup text: one reader and one load average per cgroup
    reader: CgroupReader
    caller: int  # who reads; its PID namespace's init started the container's clock


@dataclass(frozen=True)
class _Init:
    pid: int
    namespace: str  # "pid:[4026531836]" of the namespace it is init of


class Targets:
    def __init__(
        self,
        files: Files,
        view: str = CALLER,
        default_pid: int = 1,
        capacity: int = 256,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if view not in VIEWS:
            raise ValueError(f"the view is one of {', '.join(VIEWS)}, not {view!r}")
        self._files = files
        self._view = view
        self._default_pid = default_pid  # for callers we cannot see, and our own namespace
        self._clock = clock
        self._readers: Bounded[str, CgroupReader] = Bounded(capacity)
        self._inits: Bounded[str, _Init] = Bounded(capacity)
        self._mountinfo = ""
        self._mountinfo_at: float | None = None
        self._namespace: str | None = None
        self._pid1_ticks: int | None = None

    def for_caller(self, pid: int) -> Target:
        """The target for a read by ``pid``; a gone or invisible caller gets the default."""
        if pid > 0:
            subject = self.init_of(pid) if self._view == INIT else pid
            found = self._target(subject, pid)
            if found is not None:
                return found
        fallback = self._target(self._default_pid, self._default_pid)
        if fallback is None:
            from procshim.cgroup import NoCgroup

            return Target("", NoCgroup(), self._default_pid)
        return fallback

    def _target(self, pid: int, caller: int) -> Target | None:
        key = self._files.read(f"/proc/{pid}/cgroup")
        if not key:
            return None
        reader = self._readers.get(key)
        if reader is None:
            reader = reader_for(self._files, key, self._mounts())
            self._readers.put(key, reader)
        return Target(key, reader, caller)

    def _mounts(self) -> str:
        now = self._clock()
        if self._mountinfo_at is None or now - self._mountinfo_at >= _MOUNTS_FRESH_FOR:
            self._mountinfo = self._files.read("/proc/self/mountinfo") or ""
            self._mountinfo_at = now
        return self._mountinfo

    def init_of(self, pid: int) -> int:
        """The init of ``pid``'s PID namespace, as a pid of ours; the default
        pid for our own namespace."""
        namespace = self._files.readlink(f"/proc/{pid}/ns/pid")
        if namespace is None or namespace == self._own_namespace():
            return self._default_pid
        cached = self._inits.get(namespace)
        if cached is not None:
            # A pid may be reused by a process of another namespace.
            if cached.pid == pid or self._files.readlink(f"/proc/{cached.pid}/ns/pid") == namespace:
                return cached.pid
            self._inits.drop(namespace)
        found = self._walk_up(pid, namespace) or self._scan(namespace)
        # No init visible (it exited, or it is outside our /proc): the caller
        # itself stands in, remembered so the next open does not scan again.
        self._inits.put(namespace, _Init(found or pid, namespace))
        return found or pid

    def _own_namespace(self) -> str | None:
        if self._namespace is None:
            self._namespace = self._files.readlink("/proc/self/ns/pid")
        return self._namespace

    def _walk_up(self, pid: int, namespace: str) -> int | None:
        """Most processes descend from their namespace's init; those that
        entered with setns (podman exec) do not, and the scan finds it."""
        current = pid
        for _ in range(_MAX_WALK):
            status = _status_fields(self._files.read(f"/proc/{current}/status"))
            nspid = status.get("NSpid", "").split()
            if nspid and nspid[-1] == "1":
                return current
            parent = status.get("PPid", "0")
            if not parent.isdigit() or int(parent) <= 0:
                return None
            if self._files.readlink(f"/proc/{parent}/ns/pid") != namespace:
                return None
            current = int(parent)
        return None

    def _scan(self, namespace: str) -> int | None:
        for name in self._files.subdirs("/proc"):
            if not name.isdigit() or self._files.readlink(f"/proc/{name}/ns/pid") != namespace:
                continue
            nspid = _status_fields(self._files.read(f"/proc/{name}/status")).get("NSpid", "")
            if nspid.split()[-1:] == ["1"]:
                return int(name)
        return None

    def started_ticks(self, target: Target) -> int | None:
        """When the container started: its init's start, in clock ticks after boot."""
        init = self.init_of(target.caller)
        if init != 1:
            return process_start_ticks(self._files, init)
        # Our own namespace's PID 1 outlives us: its start is read once.
        if self._pid1_ticks is None:
            self._pid1_ticks = process_start_ticks(self._files, 1)
        return self._pid1_ticks


def _status_fields(text: str | None) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in (text or "").splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return fields
