"""Downloads on fakes: locked for the portal until a successful release, previews for operators, audited."""

from __future__ import annotations

import hashlib
import io
import json
import uuid
import zipfile

import pytest

from factory_service.domain.errors import (
    ArtifactBlobMissing,
    ArtifactNotFound,
    DeliverableLockedUntilBillingSatisfied,
    PackGenerationNotCompleted,
    ReportPackNotLinked,
    WorkOrderNotFound,
)
from factory_service.handlers.downloads import (
    DownloadArtifact,
    DownloadEvidencePack,
    download_artifact,
    download_evidence_pack,
)
from factory_service.records import ArtifactRecord, WorkOrderColumns
from factory_service.settings import Settings
from services.factory.tests.unit.fakes import FactoryFakes
from services.factory.tests.unit.handlers import given
from services.factory.tests.unit.handlers.given import ACTOR, DOCX, PDF, TENANT, WORK_ORDER, Arrange
from shared.auth.principal import Principal

OPERATOR = Principal(sub=str(ACTOR), aud="web", tenant_id=str(TENANT), user_id=str(ACTOR))
PORTAL = Principal(sub=str(ACTOR), aud="portal", tenant_id=str(TENANT), user_id=str(ACTOR))
STRANGER = Principal(sub="x", aud="portal", tenant_id=str(TENANT), user_id=str(uuid.UUID(int=4)))


async def docx_artifact(fakes: FactoryFakes) -> ArtifactRecord:
    return next(a for a in fakes.packs.artifact_rows.values() if a.kind == "docx")


async def portal_owned(fakes: FactoryFakes) -> None:
    """The work order came from the portal user's channel (the portal sees only its own)."""
    fields: WorkOrderColumns = {"source_type": "CHANNEL", "created_by_user_id": ACTOR}
    await fakes.work_orders.upsert(str(WORK_ORDER), str(TENANT), fields, 100)


class TestArtifact:
    def command(self, artifact: ArtifactRecord, caller: Principal) -> DownloadArtifact:
        return DownloadArtifact(uuid.UUID(artifact.id), caller, uuid.UUID(caller.user_id or ""))

    @pytest.mark.parametrize(
        ("release_result", "preview"), [(None, True), ("PAID", False), ("BLOCKED", True)]
    )
    async def test_an_operator_downloads_before_a_release_as_a_preview(
        self, fakes: FactoryFakes, settings: Settings, release_result: str | None, preview: bool
    ) -> None:
        if release_result is None:
            await given.generated_pack(fakes, settings)
        else:
            await given.released(fakes, settings, release_result)
        artifact = await docx_artifact(fakes)
        uow = fakes.uow(str(TENANT), aud="web")
        download = await download_artifact(uow, self.command(artifact, OPERATOR), blobs=fakes.blobs)

        assert download.content == DOCX
        assert (download.filename, download.checksum_sha256) == (
            artifact.filename,
            hashlib.sha256(DOCX).hexdigest(),
        )
        last = fakes.audit.rows[-1]
        assert (last.action, last.entity_id, last.actor_user_id) == (
            "artifact_downloaded",
            artifact.id,
            str(ACTOR),
        )
        assert last.metadata_json == {
            "aud": "web",
            "preview": preview,
            "kind": "docx",
            "sha256": artifact.checksum_sha256,
        }
        assert uow.commits == 1

    async def test_the_portal_waits_for_a_successful_release(
        self, fakes: FactoryFakes, settings: Settings
    ) -> None:
        await given.generated_pack(fakes, settings)
        await portal_owned(fakes)
        artifact = await docx_artifact(fakes)
        with pytest.raises(DeliverableLockedUntilBillingSatisfied):
            await download_artifact(
                fakes.uow(aud="portal"), self.command(artifact, PORTAL), blobs=fakes.blobs
            )
        assert "artifact_downloaded" not in fakes.audit.actions()

    async def test_the_portal_downloads_its_own_released_deliverables_only(
        self, fakes: FactoryFakes, settings: Settings
    ) -> None:
        await given.released(fakes, settings, "CREDIT_CONSUMED")
        await portal_owned(fakes)
        artifact = await docx_artifact(fakes)
        download = await download_artifact(
            fakes.uow(aud="portal"), self.command(artifact, PORTAL), blobs=fakes.blobs
        )
        assert download.content == DOCX
        assert fakes.audit.rows[-1].metadata_json["preview"] is False
        with pytest.raises(ArtifactNotFound):
            await download_artifact(
                fakes.uow(aud="portal"), self.command(artifact, STRANGER), blobs=fakes.blobs
            )

    async def test_the_internal_cover_sheet_is_for_operators_only(
        self, fakes: FactoryFakes, settings: Settings
    ) -> None:
        """Issue 21: QA data is no part of what a bank or channel partner receives, even after release."""
        await given.released(fakes, settings, "CREDIT_CONSUMED")
        await portal_owned(fakes)
        cover = next(a for a in fakes.packs.artifact_rows.values() if a.kind == "qa_cover_sheet")
        with pytest.raises(ArtifactNotFound):
            await download_artifact(fakes.uow(aud="portal"), self.command(cover, PORTAL), blobs=fakes.blobs)
        mine = await download_artifact(
            fakes.uow(str(TENANT)), self.command(cover, OPERATOR), blobs=fakes.blobs
        )
        assert mine.content.startswith(b"PK")

    async def test_an_unknown_artifact_or_a_missing_blob(
        self, fakes: FactoryFakes, settings: Settings
    ) -> None:
        await given.generated_pack(fakes, settings)
        artifact = await docx_artifact(fakes)
        unknown = artifact.model_copy(update={"id": str(uuid.UUID(int=2))})
        with pytest.raises(ArtifactNotFound):
            await download_artifact(fakes.uow(), self.command(unknown, OPERATOR), blobs=fakes.blobs)
        fakes.blobs.blobs.clear()
        with pytest.raises(ArtifactBlobMissing):
            await download_artifact(fakes.uow(), self.command(artifact, OPERATOR), blobs=fakes.blobs)


def evidence(caller: Principal = OPERATOR, work_order_id: uuid.UUID = WORK_ORDER) -> DownloadEvidencePack:
    return DownloadEvidencePack(work_order_id, caller, ACTOR)


class TestEvidencePack:
    async def test_the_zip_holds_the_bundle_manifest_docx_releases_and_audit_and_is_reproducible(
        self, fakes: FactoryFakes, settings: Settings
    ) -> None:
        release = await given.released(fakes, settings)
        uow = fakes.uow(str(TENANT))
        first = await download_evidence_pack(uow, evidence(), blobs=fakes.blobs)
        again = await download_evidence_pack(fakes.uow(str(TENANT)), evidence(), blobs=fakes.blobs)

        assert first.content == again.content  # the download audit rows are left out of the ZIP
        assert (first.filename, first.media_type) == (
            "SBI_UNDER_5CR_V1-v1-evidence-pack.zip",
            "application/zip",
        )
        assert first.checksum_sha256 == hashlib.sha256(first.content).hexdigest()
        files = zipfile.ZipFile(io.BytesIO(first.content))
        assert sorted(files.namelist()) == [
            "SBI_UNDER_5CR_V1-v1.docx",
            "SBI_UNDER_5CR_V1-v1.pdf",  # the bank's copy; the internal cover sheet is not packed
            "audit_events.jsonl",
            "evidence_manifest.json",
            "export_bundle.json",
            "releases.json",
            "verification_checksums.txt",
        ]
        assert files.read("SBI_UNDER_5CR_V1-v1.docx") == DOCX
        assert files.read("SBI_UNDER_5CR_V1-v1.pdf") == PDF
        assert [r["id"] for r in json.loads(files.read("releases.json"))] == [release.id]
        audited = [json.loads(line)["action"] for line in files.read("audit_events.jsonl").splitlines()]
        assert "evidence_pack_downloaded" not in audited
        assert audited[0] == "pack_created"
        assert fakes.audit.actions()[-2:] == ["evidence_pack_downloaded"] * 2
        assert fakes.audit.rows[-1].metadata_json["preview"] is False
        assert uow.commits == 1

    @pytest.mark.parametrize(
        ("arrange", "caller", "error"),
        [
            (given.nothing, OPERATOR, WorkOrderNotFound),
            (given.projected_only, OPERATOR, ReportPackNotLinked),
            (given.render_ready, OPERATOR, PackGenerationNotCompleted),
            (given.generated_pack, PORTAL, DeliverableLockedUntilBillingSatisfied),
            (given.generated_pack, STRANGER, WorkOrderNotFound),
        ],
    )
    async def test_refusals(
        self,
        fakes: FactoryFakes,
        settings: Settings,
        arrange: Arrange,
        caller: Principal,
        error: type[Exception],
    ) -> None:
        await arrange(fakes, settings)
        if caller.is_portal:
            await portal_owned(fakes)
        with pytest.raises(error):
            await download_evidence_pack(fakes.uow(aud=caller.aud), evidence(caller), blobs=fakes.blobs)
        assert "evidence_pack_downloaded" not in fakes.audit.actions()
