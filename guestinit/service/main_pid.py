"""May this pid become a service's main process? (pure: facts in, verdict out)

The main PID is what a stop signals first and what ``KillMode=main`` signals
alone, so naming one is the power to have PID 1 (root) signal it. Three
sources name one besides our own spawn: ``MAINPID=`` in a notification,
``PIDFile=``, and the guess of ``GuessMainPID=``. The rules, as systemd's
(``service_is_suitable_main_pid`` and its callers), plus ours in [brackets]:

- never the manager itself or PID 1, never the unit's control process, never
  a process that is gone or a zombie; [never the container's main process
  (``guestinit -- CMD``): its exit ends the container, and a unit that could
  claim it could kill it or keep us waiting for it];
- [never a process of another unit: systemd would let a trusted source take
  one, but two units owning one process means one unit's stop signals the
  other's — and with session tracking (no cgroups) "ownership" is what our
  stop paths act on, so it must stay exclusive];
- a process of the unit itself: accepted from any source;
- otherwise only from a trusted source: a sender running as root (MAINPID=),
  a PID file owned by root in a folder only root can change, reached without
  following a symlink that someone else could have planted (PIDFile=);
  the guess only ever picks among the unit's own processes;
- [without unit cgroups, membership is known only by session and descent, and
  a daemon that calls setsid() after its parent exited escapes both. There a
  pid from an untrusted source is also accepted when the unit's own
  (non-root) user could signal it itself anyway (it runs as that user): the
  claim gives the unit no power it lacked. With cgroups membership is exact
  and this exception does not apply.]
"""

import enum
from dataclasses import dataclass


class Source(enum.Enum):
    NOTIFY = "MAINPID="
    PID_FILE = "PIDFile="
    GUESS = "GuessMainPID="


@dataclass(frozen=True)
class Candidate:
    """What is known about a proposed main pid."""

    pid: int
    alive: bool
    in_unit: bool  # in the unit's cgroup, or its sessions / below its processes
    protected: str | None = None  # "the manager itself", "the container's main process"
    other_unit: str | None = None  # another unit it belongs to
    is_control: bool = False  # the unit's current control process
    # Runs as the unit's own non-root user (only consulted without cgroups).
    same_user: bool = False


@dataclass(frozen=True)
class Verdict:
    accepted: bool
    reason: str  # why (for the log line); for an acceptance, which rule

    def __bool__(self) -> bool:
        return self.accepted


def judge(candidate: Candidate, trusted: bool, exact_membership: bool) -> Verdict:
    """``trusted``: the source is root's (see the module docstring);
    ``exact_membership``: units have cgroups."""
    pid = candidate.pid
    if candidate.protected is not None:
        return Verdict(False, f"{pid} is {candidate.protected}")
    if candidate.is_control:
        return Verdict(False, f"{pid} is the control process")
    if not candidate.alive:
        return Verdict(False, f"{pid} does not exist or is a zombie")
    if candidate.other_unit is not None:
        return Verdict(False, f"{pid} belongs to {candidate.other_unit}")
    if candidate.in_unit:
        return Verdict(True, f"{pid} belongs to the service")
    if trusted:
        return Verdict(True, f"{pid} is outside the service, but the source is privileged")
    if candidate.same_user and not exact_membership:
        return Verdict(True, f"{pid} runs as the service's own user")
    return Verdict(False, f"{pid} does not belong to the service")


def describe_refusal(source: Source, verdict: Verdict, detail: str = "") -> str:
    """The warning for a refused main pid, e.g. ``MAINPID=123 refused: 123
    does not belong to the service (sender is not root)``."""
    extra = f" ({detail})" if detail else ""
    return f"new main PID from {source.value} refused: {verdict.reason}{extra}"
