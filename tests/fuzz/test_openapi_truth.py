"""The gateway's merged OpenAPI document is truthful by construction, on the real stack.

Every operation documents each 4xx it lists with the ``{code, message, details}`` ErrorBody schema,
never FastAPI's 422 (no service answers it), declares its security unless the gateway serves it without
authentication, and documents a non-empty schema for every JSON success body (so
``response_schema_conformance`` can fail). Each assertion names every operation that breaks it.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from devstack.launcher import StackInfo

pytestmark = pytest.mark.stack

ERROR_REF = "#/components/schemas/ErrorBody"
PUBLIC_AUTH = {"public", "webhook"}


@pytest.fixture(scope="module")
def document(stack: StackInfo) -> dict[str, Any]:
    resp = httpx.get(f"{stack.urls['gateway']}/openapi.json", timeout=30)
    assert resp.status_code == 200, resp.text
    doc: dict[str, Any] = resp.json()
    assert set(doc["x-zenops-upstreams"].values()) == {"ok"}, doc["x-zenops-upstreams"]
    return doc


def operations(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path} ({op.get('x-zenops-service')})", op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
    ]


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = doc
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def _offenders(found: list[str]) -> str:
    return f"{len(found)} operation(s):\n  " + "\n  ".join(found)


def test_every_4xx_is_an_error_body_and_none_is_422(document: dict[str, Any]) -> None:
    found = []
    for name, op in operations(document):
        for status, response in op["responses"].items():
            if status == "422":
                found.append(f"{name}: documents 422")
            elif status.startswith("4"):
                schema = (response.get("content") or {}).get("application/json", {}).get("schema")
                if schema != {"$ref": ERROR_REF}:
                    found.append(f"{name}: {status} is not an ErrorBody ({schema})")
    assert not found, _offenders(found)
    assert set(document["components"]["schemas"]["ErrorBody"]["required"]) == {"code", "message", "details"}


def test_every_authenticated_operation_declares_its_security(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    found = []
    for name, op in operations(document):
        public = op["x-zenops-auth"] in PUBLIC_AUTH
        security = op.get("security") or []
        if public and security:
            found.append(f"{name}: public at the gateway but declares {security}")
        elif not public and not security:
            found.append(f"{name}: {op['x-zenops-auth']} at the gateway but declares no security")
        found += [
            f"{name}: unknown scheme {scheme}" for req in security for scheme in req if scheme not in schemes
        ]
        if not public and "401" not in op["responses"]:
            found.append(f"{name}: authenticated but documents no 401")
    assert not found, _offenders(found)


def test_every_json_success_has_a_response_schema(document: dict[str, Any]) -> None:
    found = []
    for name, op in operations(document):
        successes = {s: r for s, r in op["responses"].items() if s.startswith("2")}
        if not successes:
            found.append(f"{name}: documents no success response")
        for status, response in successes.items():
            for media, content in (response.get("content") or {}).items():
                if "json" not in media:
                    continue
                schema = _resolve(document, content.get("schema") or {})
                if not schema:
                    found.append(f"{name}: {status} {media} has an empty schema")
    assert not found, _offenders(found)


def test_the_gateway_documents_its_own_failures(document: dict[str, Any]) -> None:
    found = []
    for name, op in operations(document):
        expected = {"400", "414", "431", "429"}
        if "requestBody" in op:
            expected.add("413")
        if op["x-zenops-service"] != "gateway":
            expected |= {"503", "504"}
        missing = expected - set(op["responses"])
        if missing:
            found.append(f"{name}: missing {sorted(missing)}")
        if "Retry-After" not in op["responses"].get("429", {}).get("headers", {}):
            found.append(f"{name}: 429 without Retry-After")
    assert not found, _offenders(found)
    assert "/v1/meta" in document["paths"]
    assert "/v1/auth/login" in document["paths"]
    for gone in ("/v1/billing/me", "/v1/control/onboard", "/v1/report-generation/{job_id}"):
        assert gone not in document["paths"]
