"""`make fuzz` reads schemathesis' NDJSON events into findings and attributes each to who answered."""

from __future__ import annotations

import base64
import json
from typing import Any

from scripts.fuzz import Finding, FuzzRun, findings_markdown, parse_findings


def _event(status: int, body: dict[str, Any], headers: dict[str, list[str]]) -> str:
    failure = {
        "type": "UndefinedStatusCode",
        "operation": "POST /v1/documents",
        "title": "Undocumented status code",
        "message": f"Received: {status}\nDocumented: 201, 400",
    }
    response = {
        "status_code": status,
        "headers": headers,
        "content": {"$base64": base64.b64encode(json.dumps(body).encode()).decode()},
    }
    return json.dumps(
        {
            "ScenarioFinished": {
                "recorder": {
                    "label": "POST /v1/documents",
                    "checks": {
                        "c1": [
                            {"name": "not_a_server_error", "status": "success"},
                            {
                                "name": "status_code_conformance",
                                "status": "failure",
                                "failure_info": {"failure": failure},
                            },
                        ]
                    },
                    "interactions": {"c1": {"response": response}},
                }
            }
        }
    )


def test_a_service_answer_is_the_services_finding() -> None:
    line = _event(415, {"code": "UNSUPPORTED_DOCUMENT_TYPE"}, {"x-zenops-service": ["evidence"]})

    [finding] = parse_findings("web", [line, json.dumps({"Initialize": {}}), ""])

    assert finding == Finding(
        "web",
        "POST /v1/documents",
        "status_code_conformance",
        415,
        "Undocumented status code: Received: 415 [UNSUPPORTED_DOCUMENT_TYPE]",
        "evidence",
    )
    assert not finding.by_gateway


def test_the_gateways_own_answer_and_a_wrapped_upstream_error() -> None:
    edge = _event(400, {"code": "INVALID_PATH"}, {})
    wrapped = _event(502, {"code": "UPSTREAM_ERROR", "details": {"service": "billing"}}, {})

    found = list(parse_findings("studio", [edge, wrapped]))

    assert [f.source for f in found] == ["gateway", "billing"]
    run = FuzzRun("studio", 1, 3.0, "", tuple(found))
    assert not run.ok
    assert run.verdict() == (
        "== fuzz as studio: FAILED (exit 1, 2 failed check(s), 1 answered by the gateway) in 3 s"
    )
    assert "| gateway | `POST /v1/documents` | status_code_conformance | 400 |" in findings_markdown(found)
