"""``zenops`` against an in-memory gateway and Zipkin (httpx.MockTransport): argument errors are one line
and exit 2, ``--json`` shapes, tables, nothing changes without ``--yes``, the story's order, the span tree."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from zenops_cli import config
from zenops_cli.main import main

WO = "6f1c1c1c-1c1c-4c1c-8c1c-1c1c1c1c1c1c"
MSG = "0b4c6a8e-5d1f-4d7e-9b7a-3c2e1f0a9b8c"
ENV = {
    "ZENOPS_GATEWAY_URL": "http://gw.test",
    "ZENOPS_TOKEN": "tok",
    "ZENOPS_ZIPKIN_URL": "http://zipkin.test",
}


def _letter(**changes: Any) -> dict[str, Any]:
    head = {
        "message_id": MSG,
        "kind": "consumer",
        "consumer": "billing",
        "topic": "workorders.work-order.v1",
        "key": WO,
        "event_type": "created",
        "dead_lettered": True,
        "reason": "RuntimeError('boom')",
        "detail": None,
        "attempts": None,
        "parked_at": "2026-12-01T09:00:00.000Z",
        "waiting_behind": 2,
    }
    return head | changes


def _story(service: str, *events: tuple[str, str]) -> dict[str, Any]:
    return {
        "service": service,
        "work_order_id": WO,
        "window_start": "2026-11-01T09:00:00.000Z",
        "retention_days": 30,
        "events": [
            {
                "service": service,
                "at": at,
                "direction": "published",
                "event_type": event_type,
                "topic": "t",
                "key": WO,
                "message_id": f"{service}-{at}",
                "aggregate_id": WO,
                "aggregate_version": 1,
                "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
                "traceparent": None,
                "correlation_id": None,
                "consumer": None,
                "outcome": None,
            }
            for at, event_type in events
        ],
    }


@dataclass
class FakeGateway:
    """The gateway's ops routes in memory; records every request."""

    requests: list[httpx.Request] = field(default_factory=list)
    routes: dict[tuple[str, str], tuple[int, Any]] = field(default_factory=dict)

    def answer(self, method: str, path: str, status: int, body: Any) -> None:
        self.routes[(method, path)] = (status, body)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status, body = self.routes.get(
            (request.method, request.url.path),
            (404, {"code": "ROUTE_NOT_FOUND", "message": "route not found", "details": {}}),
        )
        return httpx.Response(status, json=body)

    @property
    def writes(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.method != "GET"]


Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def gw() -> FakeGateway:
    return FakeGateway()


@pytest.fixture
def run(gw: FakeGateway, capsys: pytest.CaptureFixture[str]) -> Run:
    def invoke(
        *args: str, zipkin: Callable[[httpx.Request], httpx.Response] | None = None
    ) -> tuple[int, str, str]:
        code = main(
            list(args),
            env=ENV,
            transport=httpx.MockTransport(gw),
            zipkin_transport=httpx.MockTransport(zipkin or gw),
            width=240,
        )
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


class TestArguments:
    @pytest.mark.parametrize(
        "args",
        [
            ["dlq", "show", "billing", "not-a-uuid"],
            ["dlq", "show", "nosuch", MSG],
            ["dlq", "list", "--limit", "0"],
            ["dlq", "list", "--limit", "501"],
            ["dlq", "list", "--kind", "other"],
            ["story", "x"],
            ["gate", "replay", "123"],
            ["sweep", "--tenant", "nope"],
            ["dlq", "replay", "billing"],
            ["nosuch"],
            ["dlq", "list", "--nosuch"],
            ["trace", "bad id with spaces"],
        ],
    )
    def test_a_bad_argument_is_one_line_and_exit_2(self, run: Run, gw: FakeGateway, args: list[str]) -> None:
        code, out, err = run(*args)
        assert code == 2
        assert out == ""
        assert err.startswith("zenops: error: ")
        assert err.count("\n") == 1
        assert gw.requests == []

    @pytest.mark.parametrize(
        "args",
        [
            [],
            ["dlq"],
            ["dlq", "list"],
            ["dlq", "show"],
            ["dlq", "replay"],
            ["dlq", "discard"],
            ["outbox"],
            ["lag"],
            ["sweep"],
            ["gate"],
            ["gate", "replay"],
            ["story"],
            ["trace"],
        ],
    )
    def test_every_command_has_help(self, run: Run, gw: FakeGateway, args: list[str]) -> None:
        code, out, _ = run(*args, "--help")
        assert code == 0
        assert out.startswith("Usage: zenops")
        assert gw.requests == []


class TestDeadLetters:
    def test_list_asks_every_service_and_shows_a_table(self, run: Run, gw: FakeGateway) -> None:
        for service in ("workorders", "evidence", "factory"):
            gw.answer(
                "GET", f"/v1/ops/{service}/dead-letters", 200, {"service": service, "count": 0, "items": []}
            )
        gw.answer(
            "GET",
            "/v1/ops/billing/dead-letters",
            200,
            {"service": "billing", "count": 1, "items": [_letter()]},
        )
        code, out, _ = run("dlq", "list")
        assert code == 0
        assert "1 dead letter(s)" in out
        assert MSG in out
        assert "workorders.work-order.v1" in out
        assert [r.url.path for r in gw.requests] == [
            f"/v1/ops/{s}/dead-letters" for s in ("workorders", "evidence", "factory", "billing")
        ]
        assert all(r.headers["authorization"] == "Bearer tok" for r in gw.requests)

    def test_list_json_tags_each_item_with_its_service(self, run: Run, gw: FakeGateway) -> None:
        gw.answer(
            "GET",
            "/v1/ops/billing/dead-letters",
            200,
            {"service": "billing", "count": 1, "items": [_letter()]},
        )
        code, out, _ = run("dlq", "list", "-s", "billing", "--kind", "consumer", "--limit", "5", "--json")
        assert code == 0
        body = json.loads(out)
        assert body["count"] == 1
        assert body["items"][0] == {"service": "billing", **_letter()}
        assert dict(gw.requests[0].url.params) == {"limit": "5", "kind": "consumer"}

    def test_replay_without_yes_changes_nothing(self, run: Run, gw: FakeGateway) -> None:
        detail = {
            "service": "billing",
            "message_id": MSG,
            "is_head": True,
            "head": _letter(),
            "envelope": {"type": "created"},
            "trace_id": None,
            "waiting": [],
        }
        gw.answer("GET", f"/v1/ops/billing/dead-letters/{MSG}", 200, detail)
        code, out, err = run("dlq", "replay", "billing", MSG)
        assert code == 2
        assert "RuntimeError" in out  # what would be replayed
        assert err == f"zenops: error: nothing changed: pass --yes to replay dead letter {MSG} of billing\n"
        assert gw.writes == []

    @pytest.mark.parametrize("action", ["replay", "discard"])
    def test_yes_does_it_and_json_is_the_answer(self, run: Run, gw: FakeGateway, action: str) -> None:
        answer = {
            "service": "billing",
            "message_id": MSG,
            "action": action,
            "done": True,
            "repeated": False,
            "outcomes": [{"message_id": MSG, "status": "applied", "detail": ""}],
            "audit": {},
        }
        gw.answer("POST", f"/v1/ops/billing/dead-letters/{MSG}/{action}", 200, answer)
        code, out, _ = run("--json", "dlq", action, "billing", MSG, "--yes")
        assert code == 0
        assert json.loads(out) == answer
        assert [r.url.path for r in gw.writes] == [f"/v1/ops/billing/dead-letters/{MSG}/{action}"]

    def test_a_replay_that_leaves_it_parked_exits_1(self, run: Run, gw: FakeGateway) -> None:
        answer = {"done": False, "repeated": False, "outcomes": [], "action": "replay"}
        gw.answer("POST", f"/v1/ops/billing/dead-letters/{MSG}/replay", 200, answer)
        code, out, err = run("dlq", "replay", "billing", MSG, "--yes")
        assert code == 1
        assert "NOT done" in out
        assert err.count("\n") == 1

    def test_a_gateway_error_is_one_line_with_its_code(self, run: Run) -> None:
        code, out, err = run("dlq", "show", "billing", MSG)
        assert code == 1
        assert out == ""
        assert (
            err
            == f"zenops: error: GET /v1/ops/billing/dead-letters/{MSG} -> 404 ROUTE_NOT_FOUND: route not found\n"
        )


class TestStoryAndGate:
    def test_story_merges_services_in_time_order(self, run: Run, gw: FakeGateway) -> None:
        gw.answer(
            "GET",
            f"/v1/ops/workorders/work-orders/{WO}/story",
            200,
            _story(
                "workorders",
                ("2026-12-01T09:00:00.000Z", "created"),
                ("2026-12-01T09:00:03.000Z", "status_changed"),
            ),
        )
        gw.answer(
            "GET",
            f"/v1/ops/billing/work-orders/{WO}/story",
            200,
            _story("billing", ("2026-12-01T09:00:01.000Z", "work_order_billing")),
        )
        code, out, _ = run("story", WO, "--json")  # evidence and factory answer 404: nothing there
        assert code == 0
        body = json.loads(out)
        assert [(e["service"], e["event_type"]) for e in body["events"]] == [
            ("workorders", "created"),
            ("billing", "work_order_billing"),
            ("workorders", "status_changed"),
        ]
        assert set(body["windows"]) == {"workorders", "billing"}
        code, out, _ = run("story", WO)
        assert code == 0
        assert "3 messages" in out
        assert "4bf92f3577b34da6a3ce929d0e0e4736" in out

    def test_a_story_nobody_knows_exits_1(self, run: Run) -> None:
        code, _, err = run("story", WO)
        assert code == 1
        assert "no service holds a message" in err

    def test_gate_replay_mismatch_exits_1(self, run: Run, gw: FakeGateway) -> None:
        decision = {
            "decision_id": "d-1",
            "release_id": "r-1",
            "inputs": {},
            "stored": {"outcome": {"result": "PAID"}, "decision_hash": "a"},
            "replayed": {"outcome": {"result": "BLOCKED"}, "decision_hash": "b"},
            "matches": False,
        }
        path = f"/v1/ops/billing/work-orders/{WO}/gate-replay"
        gw.answer("GET", path, 200, {"work_order_id": WO, "all_match": False, "decisions": [decision]})
        code, out, err = run("gate", "replay", WO)
        assert code == 1
        assert "MISMATCH" in out
        assert "BLOCKED" in out
        assert "differs" in err
        gw.answer(
            "GET",
            path,
            200,
            {"work_order_id": WO, "all_match": True, "decisions": [decision | {"matches": True}]},
        )
        code, out, _ = run("gate", "replay", WO, "--json")
        assert code == 0
        assert json.loads(out)["all_match"] is True

    def test_sweep_falls_back_to_the_service_token_route(self, run: Run, gw: FakeGateway) -> None:
        gw.answer(
            "POST",
            "/v1/control/credits/reconcile",
            401,
            {"code": "TOKEN_INVALID", "message": "", "details": {}},
        )
        report = {"dry_run": True, "scanned": 0, "released": 0, "skipped": 0, "errors": [], "actions": []}
        gw.answer("POST", "/v1/billing/credits/reconcile", 201, report)
        code, out, _ = run("sweep", "--dry-run", "--limit", "7", "--json")
        assert code == 0
        assert json.loads(out) == report
        assert json.loads(gw.writes[-1].content) == {"dry_run": True, "limit": 7}


class TestTrace:
    SPANS = [
        {
            "traceId": "t1",
            "id": "b",
            "parentId": "a",
            "name": "post /x",
            "timestamp": 2,
            "duration": 5000,
            "localEndpoint": {"serviceName": "workorders"},
            "tags": {},
        },
        {
            "traceId": "t1",
            "id": "a",
            "name": "post /v1/x",
            "timestamp": 1,
            "duration": 12000,
            "localEndpoint": {"serviceName": "gateway"},
            "tags": {"zenops.request_id": "r-1"},
        },
        {
            "traceId": "t1",
            "id": "c",
            "parentId": "b",
            "name": "consume t",
            "timestamp": 3,
            "duration": 1500,
            "localEndpoint": {"serviceName": "billing"},
            "tags": {"zenops.error_code": "RESERVATION_EXPIRED"},
        },
    ]

    def zipkin(self, seen: list[httpx.Request]) -> Callable[[httpx.Request], httpx.Response]:
        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return httpx.Response(200, json=[self.SPANS])

        return handler

    def test_the_tree_is_indented_by_parent(self, run: Run) -> None:
        seen: list[httpx.Request] = []
        code, out, _ = run("trace", "r-1", zipkin=self.zipkin(seen))
        assert code == 0
        assert out.splitlines()[1:] == [
            "gateway  post /v1/x  12.0 ms",
            "  workorders  post /x  5.0 ms",
            "    billing  consume t  1.5 ms  [RESERVATION_EXPIRED]",
        ]
        assert seen[0].url.host == "zipkin.test"
        assert seen[0].url.params["annotationQuery"] == "zenops.request_id=r-1"

    def test_json_rows(self, run: Run) -> None:
        code, out, _ = run("trace", "r-1", "--json", zipkin=self.zipkin([]))
        assert code == 0
        [found] = json.loads(out)["traces"]
        assert [(s["depth"], s["service"], s["error_code"]) for s in found["spans"]] == [
            (0, "gateway", None),
            (1, "workorders", None),
            (2, "billing", "RESERVATION_EXPIRED"),
        ]


class TestConfig:
    def test_the_dev_stack_state_dir_is_the_default(self, tmp_path: Any) -> None:
        (tmp_path / "ports.json").write_text('{"gateway": 18080}')
        (tmp_path / "secrets.json").write_text('{"studio_admin_token": "admin"}')
        found = config.resolve(None, None, None, {"ZENOPS_STATE_DIR": str(tmp_path)})
        assert (found.gateway, found.token, found.zipkin) == (
            "http://127.0.0.1:18080",
            "admin",
            config.DEFAULT_ZIPKIN,
        )

    def test_options_beat_the_environment(self) -> None:
        found = config.resolve("http://x/", "t", "http://z/", ENV)
        assert (found.gateway, found.token, found.zipkin) == ("http://x", "t", "http://z")
        found = config.resolve(
            None, None, None, {**ENV, "ZENOPS_TOKEN": "", "ZENOPS_STUDIO_ADMIN_TOKEN": "s"}
        )
        assert found.token == "s"
