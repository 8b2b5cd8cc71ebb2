"""What the operator verifies after a release: the export bundle the pack was rendered from, and the
evidence pack with its checksums."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import httpx

from devstack.testing import flows
from scripts.demo.flow import Produced
from scripts.demo.progress import Steps
from shared.stable_json import stable_sha256


@dataclass(frozen=True)
class Verified:
    """The export bundle's hash (``GET …/export``, recomputed), the hash of the bundle frozen in the pack,
    and the evidence pack's files with how many checksums matched."""

    export_bundle_hash: str
    frozen_bundle_hash: str
    evidence_pack_files: list[str]
    checksums_verified: int


async def verify_outputs(client: httpx.AsyncClient, steps: Steps, made: Produced) -> Verified:
    """The pack's ``debug_json`` artifact (its bytes match its SHA-256) is the bundle the pack was rendered
    from: its stable SHA-256 (domain.md §0.2) is the pack's ``export_bundle_hash``, and without its
    ``render_state`` it is ``GET …/export`` of the pack's snapshot. Then the evidence pack: every file
    against ``verification_checksums.txt``."""
    wo = made.work_order_id
    pack = made.pack["pack"]
    steps.step("verify the export bundle against the pack's hash")
    exported = flows.expect(
        await client.get(
            f"/v1/repogen/work-orders/{wo}/export", params={"snapshot_version": pack["snapshot_version"]}
        ),
        200,
    )
    stated = str(pack["export_bundle_hash"])
    debug = next(a for a in made.artifacts if a["kind"] == "debug_json")
    raw = await flows.download_artifact(client, debug)
    if hashlib.sha256(raw).hexdigest() != debug["checksum_sha256"]:
        raise flows.FlowError(f"the debug_json artifact of {wo} does not match its SHA-256")
    frozen = json.loads(raw)
    if stable_sha256(frozen) != stated:
        raise flows.FlowError(f"the bundle frozen in the pack of {wo} does not hash to {stated}")
    # the bundle frozen at READY_FOR_RENDER is the snapshot's export plus ``render_state`` (decision
    # "The report a bank reads (issue 21)"): without it, it is the export, byte for byte once stable
    frozen.pop("render_state", None)
    exported_hash = stable_sha256(exported["export_bundle"])
    if stable_sha256(frozen) != exported_hash:
        raise flows.FlowError(f"the pack of {wo} was not rendered from the export of its snapshot")
    steps.note(f"export bundle SHA-256 {exported_hash}; frozen with its render state {stated}")

    steps.step("download the evidence pack and verify its checksums")
    archive, verified = await flows.verified_evidence_pack(client, wo)
    files = archive.namelist()
    if verified != len(files) - 1:
        raise flows.FlowError(f"evidence pack of {wo}: {verified} checksums for {len(files) - 1} files")
    steps.note(f"{len(files)} files, {verified} checksums verified")
    return Verified(exported_hash, stated, files, verified)
