"""The ops routes and the ``zenops`` CLI on the real stack, through the gateway (issue 17).

A poison message lands parked in a service's consumer (dead-lettered, a valid message of its key waiting
behind it); it is listed, shown, replayed (it fails again: audited, still parked), discarded (the waiting
message then flows) and a repeated discard changes nothing: through the gateway, and with ``zenops`` as a
subprocess. After a flow, the story of a work order lists the events of several services in time order;
a release request decided by billing replays to the same outcome.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer

from devstack.launcher import StackInfo
from devstack.testing import flows
from devstack.testing.data import TEST_TENANT
from devstack.testing.gateway import eventually, new_work_order_id
from devstack.testing.messaging import RawEvent, publish
from shared.contracts.evidence import EvidenceState
from shared.contracts.factory import ReleaseRequested
from shared.contracts.topics import EVIDENCE_WORK_ORDER_EVIDENCE
from shared.messaging.envelope import Envelope

pytestmark = pytest.mark.stack

DLQ = "/v1/ops/workorders/dead-letters"


async def _poisoned_key(producer: AIOKafkaProducer) -> tuple[str, str, str]:
    """A new work order key on the evidence topic that workorders consumes: a head that cannot parse
    (dead-lettered at once) and a valid evidence state behind it; returns (key, head, waiting) ids."""
    wo = str(uuid.uuid4())
    head = await publish(
        producer,
        RawEvent(EVIDENCE_WORK_ORDER_EVIDENCE, EvidenceState.TYPE, {"nope": 1}),
        aggregate_id=wo,
        version=1,
    )
    valid = EvidenceState(work_order_id=wo, evidence_version=1, items=[])
    waiting = await publish(producer, valid, aggregate_id=wo, version=2)
    return wo, head.message_id, waiting.message_id


async def _listed(client: httpx.AsyncClient, head: str) -> dict[str, Any]:
    async def found() -> dict[str, Any] | None:
        resp = await client.get(DLQ, params={"kind": "consumer", "limit": 500})
        assert resp.status_code == 200, resp.text
        item = next((i for i in resp.json()["items"] if i["message_id"] == head), None)
        return item if item is not None and item["waiting_behind"] == 1 else None

    return await eventually(found, f"dead letter {head} with one message behind it", within_s=60)


class TestDeadLettersThroughTheGateway:
    async def test_list_show_replay_discard(
        self, studio: httpx.AsyncClient, producer: AIOKafkaProducer
    ) -> None:
        wo, head, waiting = await _poisoned_key(producer)
        item = await _listed(studio, head)
        assert (item["kind"], item["consumer"], item["topic"], item["key"]) == (
            "consumer",
            "workorders",
            EVIDENCE_WORK_ORDER_EVIDENCE,
            wo,
        )
        assert item["dead_lettered"]
        assert "validation errors for EvidenceState" in item["reason"]

        shown = (await studio.get(f"{DLQ}/{head}")).json()
        assert shown["is_head"]
        assert [w["message_id"] for w in shown["waiting"]] == [waiting]
        behind = (await studio.get(f"{DLQ}/{waiting}")).json()
        assert (behind["is_head"], behind["head"]["message_id"]) == (False, head)

        # the head fails again: audited, not done, still parked
        replayed = await studio.post(f"{DLQ}/{head}/replay")
        assert replayed.status_code == 200, replayed.text
        assert (replayed.json()["done"], replayed.json()["outcomes"]) == (False, [])
        assert (await studio.get(f"{DLQ}/{head}")).status_code == 200

        # only the head of a key is replayed or discarded
        not_head = await studio.post(f"{DLQ}/{waiting}/discard")
        assert (not_head.status_code, not_head.json()["code"]) == (409, "DEAD_LETTER_NOT_HEAD")

        discarded = await studio.post(f"{DLQ}/{head}/discard")
        assert discarded.status_code == 200, discarded.text
        body = discarded.json()
        assert (body["done"], body["repeated"]) == (True, False)
        assert [(o["message_id"], o["status"]) for o in body["outcomes"]] == [
            (head, "discarded"),
            (waiting, "applied"),
        ]
        assert (await studio.get(f"{DLQ}/{head}")).status_code == 404

        again = await studio.post(f"{DLQ}/{head}/discard")
        assert (again.status_code, again.json()["repeated"], again.json()["audit"]) == (
            200,
            True,
            body["audit"],
        )
        other = await studio.post(f"{DLQ}/{head}/replay")
        assert (other.status_code, other.json()["code"]) == (409, "DEAD_LETTER_ALREADY_HANDLED")

        audit = (await studio.get("/v1/ops/workorders/actions")).json()["items"]
        mine = [(a["action"], a["done"], a["actor"]) for a in audit if a["target"] == head]
        assert mine == [
            ("discard", True, "studio_admin:studio-admin"),
            ("replay", False, "studio_admin:studio-admin"),
        ]

        # the waiting message was applied: the work order's story in workorders shows it consumed
        story = (await studio.get(f"/v1/ops/workorders/work-orders/{wo}/story")).json()
        assert [(e["direction"], e["message_id"], e["outcome"]) for e in story["events"]] == [
            ("consumed", waiting, "applied")
        ]
        assert story["retention_days"] == 30

    async def test_callers_and_hostile_input(self, stack: StackInfo, gateway: httpx.AsyncClient) -> None:
        base = stack.urls["gateway"]
        async with httpx.AsyncClient(base_url=base) as anonymous:
            assert (await anonymous.get(DLQ)).status_code == 401
            service = {"x-service-token": stack.secrets.service_token}
            assert (await anonymous.get(DLQ, headers=service)).status_code == 200
            bad = {"x-service-token": "wrong"}
            assert (await anonymous.get(DLQ, headers=bad)).status_code == 401
        # a tenant's web token is no studio caller
        assert (await gateway.get(DLQ)).status_code == 401
        async with httpx.AsyncClient(
            base_url=base, headers={"authorization": f"Bearer {stack.secrets.studio_admin_token}"}
        ) as studio:
            for params in ({"limit": 0}, {"limit": 501}, {"kind": "other"}):
                assert (await studio.get(DLQ, params=params)).status_code == 400
            for bad_id in ("x", "1%27%20OR%201=1", str(uuid.uuid4())):
                resp = await studio.post(f"{DLQ}/{bad_id}/replay")
                assert (resp.status_code, resp.json()["code"]) == (404, "DEAD_LETTER_NOT_FOUND")
            story = await studio.get(f"/v1/ops/billing/work-orders/{uuid.uuid4()}/story")
            assert (story.status_code, story.json()["code"]) == (404, "WORK_ORDER_STORY_NOT_FOUND")
            assert (await studio.get("/v1/ops/billing/work-orders/nope/story")).status_code == 404


class TestUnsendable:
    async def test_an_outbox_message_for_a_missing_topic_is_listed_replayed_and_discarded(
        self, studio: httpx.AsyncClient, admin_db: asyncpg.Connection
    ) -> None:
        key = str(uuid.uuid4())
        envelope = Envelope.new(event_type="created", aggregate_id=key, aggregate_version=1, payload={})
        # as a service's unit of work would write it, for a topic the broker does not have
        await admin_db.execute(
            "INSERT INTO workorders.outbox (message_id, topic, key, envelope) VALUES ($1::uuid, $2, $3, $4::jsonb)",
            envelope.message_id,
            "zenops.no-such-topic.v1",
            key,
            envelope.model_dump_json(),
        )
        await admin_db.execute("SELECT pg_notify('workorders_outbox', '')")

        async def moved_aside() -> dict[str, Any] | None:
            resp = await studio.get(DLQ, params={"kind": "unsendable", "limit": 500})
            return next((i for i in resp.json()["items"] if i["message_id"] == envelope.message_id), None)

        item = await eventually(moved_aside, "the relay to move the message aside", within_s=60)
        assert (item["kind"], item["reason"], item["key"]) == ("unsendable", "unknown_topic", key)
        backlog = (await studio.get("/v1/ops/workorders/outbox")).json()
        assert backlog["unsendable"] >= 1

        # sent again through the relay's mechanism: the topic is still missing, it stays
        again = (await studio.post(f"{DLQ}/{envelope.message_id}/replay")).json()
        assert again["done"] is False
        assert [o["status"] for o in again["outcomes"]] == ["failed"]
        dropped = (await studio.post(f"{DLQ}/{envelope.message_id}/discard")).json()
        assert dropped["done"] is True
        assert [o["status"] for o in dropped["outcomes"]] == ["discarded"]
        assert (await studio.get(f"{DLQ}/{envelope.message_id}")).status_code == 404


def _zenops(stack: StackInfo, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "ZENOPS_GATEWAY_URL": stack.urls["gateway"],
        "ZENOPS_TOKEN": stack.secrets.studio_admin_token,
    }
    return subprocess.run(  # noqa: S603  our own CLI, fixed arguments
        [sys.executable, "-m", "zenops_cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


class TestWithTheCli:
    async def test_a_poison_message_with_zenops(
        self, studio: httpx.AsyncClient, producer: AIOKafkaProducer, stack: StackInfo
    ) -> None:
        _wo, head, waiting = await _poisoned_key(producer)
        await _listed(studio, head)

        listed = _zenops(stack, "--json", "dlq", "list", "-s", "workorders", "--limit", "500")
        assert listed.returncode == 0, listed.stderr
        assert head in [i["message_id"] for i in json.loads(listed.stdout)["items"]]
        table = _zenops(stack, "dlq", "show", "workorders", head)
        assert table.returncode == 0
        assert waiting in table.stdout

        dry = _zenops(stack, "dlq", "discard", "workorders", head)
        assert dry.returncode == 2
        assert dry.stderr.strip().endswith("pass --yes to discard dead letter " + head + " of workorders")
        assert (await studio.get(f"{DLQ}/{head}")).status_code == 200  # nothing changed

        failed = _zenops(stack, "dlq", "replay", "workorders", head, "--yes")
        assert failed.returncode == 1
        assert "stays parked" in failed.stderr

        done = _zenops(stack, "--json", "dlq", "discard", "workorders", head, "--yes")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["done"] is True
        assert (await studio.get(f"{DLQ}/{head}")).status_code == 404

        bad = _zenops(stack, "dlq", "show", "workorders", "not-a-uuid")
        assert bad.returncode == 2
        assert bad.stderr.count("\n") == 1

    async def test_the_story_of_a_work_order_across_services(
        self, gateway: httpx.AsyncClient, studio: httpx.AsyncClient, stack: StackInfo
    ) -> None:
        wo = await new_work_order_id(gateway)
        await flows.move(gateway, wo, "EVIDENCE_PENDING")

        async def told() -> dict[str, Any] | None:
            services = {}
            for service in ("workorders", "evidence", "factory", "billing"):
                resp = await studio.get(f"/v1/ops/{service}/work-orders/{wo}/story")
                if resp.status_code == 200:
                    services[service] = resp.json()["events"]
            consumed = {s for s, events in services.items() for e in events if e["direction"] == "consumed"}
            return services if {"evidence", "factory", "billing"} <= consumed else None

        await eventually(told, f"the services consuming {wo}'s events", within_s=60)

        result = _zenops(stack, "--json", "story", wo)
        assert result.returncode == 0, result.stderr
        story = json.loads(result.stdout)
        events = story["events"]
        assert [e["at"] for e in events] == sorted(e["at"] for e in events)
        assert {"workorders", "evidence", "factory", "billing"} <= {e["service"] for e in events}
        created = next(e for e in events if e["service"] == "workorders" and e["event_type"] == "created")
        assert created["direction"] == "published"
        consumers = [
            e for e in events if e["message_id"] == created["message_id"] and e["direction"] == "consumed"
        ]
        assert {e["service"] for e in consumers} >= {"evidence", "factory", "billing"}
        assert all(e["at"] >= created["at"] for e in consumers)
        assert {e["aggregate_version"] for e in consumers} == {created["aggregate_version"]}
        assert {e["trace_id"] for e in consumers} == {created["trace_id"]}
        assert all(w["retention_days"] == 30 for w in story["windows"].values())
        human = _zenops(stack, "story", wo)
        assert human.returncode == 0
        assert f"story of {wo}" in human.stdout


class TestGateReplay:
    async def test_a_decided_release_replays_to_its_outcome(
        self, studio: httpx.AsyncClient, producer: AIOKafkaProducer, stack: StackInfo
    ) -> None:
        wo = str(uuid.uuid4())
        request = ReleaseRequested(
            release_id=str(uuid.uuid4()),
            work_order_id=wo,
            idempotency_key=f"ops-test:{wo}",
            override=False,
            pack_id=str(uuid.uuid4()),
            job_status="SUCCEEDED",
            requested_at="2026-12-01T09:00:00.000Z",
        )
        await publish(producer, request, aggregate_id=wo, tenant_id=TEST_TENANT)
        path = f"/v1/ops/billing/work-orders/{wo}/gate-replay"

        async def replayed() -> dict[str, Any] | None:
            resp = await studio.get(path)
            return resp.json() if resp.status_code == 200 else None

        replay = await eventually(replayed, f"billing's gate decision on {wo}", within_s=60)
        [decision] = replay["decisions"]
        assert replay["all_match"]
        assert decision["matches"]
        assert (
            decision["stored"]["outcome"]["result"] == decision["replayed"]["outcome"]["result"] == "BLOCKED"
        )
        assert decision["stored"]["decision_hash"] == decision["replayed"]["decision_hash"]

        cli = _zenops(stack, "--json", "gate", "replay", wo)
        assert cli.returncode == 0, cli.stderr
        assert json.loads(cli.stdout) == replay
        missing = await studio.get(f"/v1/ops/billing/work-orders/{uuid.uuid4()}/gate-replay")
        assert (missing.status_code, missing.json()["code"]) == (404, "GATE_DECISION_NOT_FOUND")
