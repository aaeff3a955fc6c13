"""The logs verb in the manager's request handler: tails, cursors, and held
answers for followers (a stand-in manager with a real LogRing)."""

import pytest

from guestinit.control import handler as handler_module
from guestinit.control.handler import ControlHandler
from guestinit.control.protocol import Request, Response, build_request
from guestinit.control.server import DEFER, PeerCred
from guestinit.logs.ring import LogRing


class FakeManager:
    def __init__(self) -> None:
        self.log_ring = LogRing()


def logs(**args: object) -> Request:
    request = build_request(1, "logs", args)
    assert isinstance(request, Request), request
    return request


def setup() -> tuple[FakeManager, ControlHandler, list[Response]]:
    manager = FakeManager()
    replies: list[Response] = []
    handler = ControlHandler(manager, lambda _connection, answer: replies.append(answer) or True)  # type: ignore[arg-type, func-returns-value]
    return manager, handler, replies


def test_tail_and_cursor() -> None:
    manager, handler, _ = setup()
    for n in range(5):
        manager.log_ring.add(float(n), "a.service", "a", 1, f"a{n}")
    manager.log_ring.add(9.0, "b.service", "b", 2, "b0")
    answer = handler(logs(units=["a.service"], lines=2), PeerCred(0, 0, 0))
    assert isinstance(answer, Response)
    result = answer.result
    assert isinstance(result, dict)
    assert [e["message"] for e in result["entries"]] == ["a3", "a4"]
    assert result["cursor"] == 6 and result["more"] is False  # the ring's last, not a4's


def test_a_held_request_is_answered_when_a_line_comes() -> None:
    manager, handler, replies = setup()
    held = handler(logs(units=["a.service"], after=0, wait=True), PeerCred(0, 0, 0, connection=3))
    assert held is DEFER and handler.next_deadline() is not None
    manager.log_ring.add(1.0, "b.service", "b", 2, "not for this follower")
    handler.check()
    assert replies == []
    manager.log_ring.add(2.0, "a.service", "a", 1, "for it")
    handler.check()
    (reply,) = replies
    assert isinstance(reply.result, dict)
    assert [e["message"] for e in reply.result["entries"]] == ["for it"]
    assert handler.next_deadline() is None


def test_a_held_request_gets_an_empty_answer_at_its_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(handler_module, "LOGS_WAIT", 0.0)
    _, handler, replies = setup()
    assert handler(logs(wait=True), PeerCred(0, 0, 0)) is DEFER
    handler.check()
    (reply,) = replies
    assert isinstance(reply.result, dict) and reply.result["entries"] == []


def test_long_answers_are_cut_and_say_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(handler_module, "MAX_LOG_ENTRIES", 3)
    manager, handler, _ = setup()
    for n in range(5):
        manager.log_ring.add(float(n), "a.service", "a", 1, f"a{n}")
    first = handler(logs(), PeerCred(0, 0, 0))
    assert isinstance(first, Response) and isinstance(first.result, dict)
    assert (first.result["more"], first.result["cursor"]) == (True, 3)
    rest = handler(logs(after=3), PeerCred(0, 0, 0))
    assert isinstance(rest, Response) and isinstance(rest.result, dict)
    assert [e["message"] for e in rest.result["entries"]] == ["a3", "a4"]
