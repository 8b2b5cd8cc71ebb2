"""JWT verification against a JWKS served by a real HTTP server in the test (no network beyond loopback):
keys cached, rotation picked up through an unknown ``kid``, an unreachable JWKS answered 401 without
blocking the event loop."""

from __future__ import annotations

import asyncio
import http.server
import json
import threading
import time
from collections.abc import Iterator
from http import HTTPStatus
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.auth.tokens import TokenVerifier
from shared.errors import Unauthorized


class KeyServer(http.server.ThreadingHTTPServer):
    """Serves ``{"keys": [...]}`` from ``keys`` (mutable: rotate by editing it) and counts the fetches;
    ``delay_s`` slows every answer down."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _KeySetHandler)
        self.keys: dict[str, Any] = {}
        self.fetches = 0
        self.delay_s = 0.0
        self.url = f"http://127.0.0.1:{self.server_address[1]}/jwks.json"

    def publish(self, kid: str, key: rsa.RSAPrivateKey) -> None:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
        self.keys[kid] = {**public, "kid": kid, "alg": "RS256", "use": "sig"}


class _KeySetHandler(http.server.BaseHTTPRequestHandler):
    server: KeyServer

    def do_GET(self) -> None:
        self.server.fetches += 1
        time.sleep(self.server.delay_s)
        self._answer(json.dumps({"keys": list(self.server.keys.values())}).encode())

    def _answer(self, body: bytes) -> None:
        self.send_response(HTTPStatus.OK)
        for name, value in (("content-type", "application/json"), ("content-length", str(len(body)))):
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        """Quiet: the test output is about the verifier."""


@pytest.fixture
def server() -> Iterator[KeyServer]:
    keys = KeyServer()
    threading.Thread(target=keys.serve_forever, daemon=True).start()
    yield keys
    keys.shutdown()
    keys.server_close()


def _rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _token(key: rsa.RSAPrivateKey, kid: str) -> str:
    claims = {"sub": "s", "aud": "web", "exp": int(time.time()) + 600}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def _verifier(url: str) -> TokenVerifier:
    return TokenVerifier(jwks_url=url, audiences=["web"], jwks_cooldown_s=0)


class TestJwks:
    async def test_keys_are_fetched_once_and_cached(self, server: KeyServer) -> None:
        key = _rsa()
        server.publish("k1", key)
        verifier = _verifier(server.url)
        for _ in range(3):
            assert (await verifier.verify(_token(key, "k1"))).sub == "s"
        assert server.fetches == 1

    async def test_a_rotated_key_is_fetched_when_a_token_names_it(self, server: KeyServer) -> None:
        old, new = _rsa(), _rsa()
        server.publish("k1", old)
        verifier = _verifier(server.url)
        await verifier.verify(_token(old, "k1"))
        server.keys.clear()
        server.publish("k2", new)
        assert (await verifier.verify(_token(new, "k2"))).sub == "s"
        assert server.fetches == 2

    async def test_an_unknown_kid_is_401(self, server: KeyServer) -> None:
        key = _rsa()
        server.publish("k1", key)
        with pytest.raises(Unauthorized) as refused:
            await _verifier(server.url).verify(_token(key, "nobody"))
        assert (refused.value.status, refused.value.code) == (401, "TOKEN_INVALID")

    async def test_forged_kids_do_not_hammer_the_identity_provider(self, server: KeyServer) -> None:
        key = _rsa()
        server.publish("k1", key)
        verifier = TokenVerifier(jwks_url=server.url, audiences=["web"], jwks_cooldown_s=60)
        for kid in ("x1", "x2", "x3"):
            with pytest.raises(Unauthorized):
                await verifier.verify(_token(key, kid))
        assert server.fetches == 1

    async def test_an_unreachable_jwks_is_401_and_the_loop_keeps_running(self, server: KeyServer) -> None:
        server.delay_s = 1.0  # a slow identity provider ...
        key = _rsa()
        server.publish("k1", key)
        slow = TokenVerifier(jwks_url=server.url, audiences=["web"])
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.05)
                ticks += 1

        running = asyncio.create_task(ticker())
        await slow.verify(_token(key, "k1"))
        running.cancel()
        assert ticks >= 10  # ... is waited for in a worker thread, not on the event loop
        server.shutdown()
        server.server_close()
        gone = TokenVerifier(jwks_url=server.url, audiences=["web"])
        with pytest.raises(Unauthorized) as refused:
            await gone.verify(_token(key, "k1"))
        assert (refused.value.status, refused.value.code) == (401, "TOKEN_INVALID")
        assert refused.value.message == "signing keys unavailable"
