"""``list_profiles``: reading the profiles assigns the default when the work order has none (§4.4)."""

from __future__ import annotations

from devstack.testing.data import TEST_TENANT
from devstack.testing.fakes import FakeUnitOfWork
from evidence_service.handlers.list_profiles import ListProfiles, list_profiles
from services.evidence.tests.unit.fakes import TENANT, Fakes
from shared.contracts.evidence import EvidenceState


async def test_the_first_read_assigns_the_default_profile(fakes: Fakes, uow: FakeUnitOfWork) -> None:
    wo = fakes.work_order(TENANT)

    overview = await list_profiles(uow, ListProfiles(TEST_TENANT, wo.work_order_id))

    chosen = fakes.work_orders.rows[wo.work_order_id]
    assert (chosen.profile_chosen_by, chosen.evidence_version) == ("auto", 1)
    assert overview.evidence.profile is not None
    assert overview.evidence.profile.id == chosen.evidence_profile_id
    assert overview.evidence.profile.name == "Valuation SBI <5Cr Baseline"
    assert {p.report_type for p in overview.profiles} == {"VALUATION"}
    assert [p.is_default for p in overview.profiles] == [True] * 4
    assert overview.field_defs[0].required_by_default
    assert not overview.field_defs[-1].required_by_default
    (state,) = uow.events_of(EvidenceState.TYPE)
    assert (state["profile"]["id"], state["profile"]["chosen_by"], state["notes"]) == (
        str(chosen.evidence_profile_id),
        "auto",
        [],
    )


async def test_a_selected_profile_is_only_read(fakes: Fakes, uow: FakeUnitOfWork) -> None:
    await fakes.profiles.ensure_defaults(TENANT)
    agri = next(p for p in fakes.profiles.profiles.values() if p.bank_type == "AGRI")
    wo = fakes.work_order(TENANT, evidence_profile_id=agri.id, profile_chosen_by="operator")

    overview = await list_profiles(uow, ListProfiles(TEST_TENANT, wo.work_order_id))

    assert (overview.evidence.profile, [i.label for i in overview.evidence.profile_items][:2]) == (
        agri,
        ["Sale Deed / Title", "RTC / Land Record"],
    )
    assert (fakes.work_orders.rows[wo.work_order_id], uow.published) == (wo, [])
