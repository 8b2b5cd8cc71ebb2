"""Issue 12: a wallet never grows past MAX_WALLET, so no credit sum can overflow its bigint column."""

from __future__ import annotations

from datetime import datetime

import pytest

from billing_service.domain.accounts import AccountStatus, BillingMode
from billing_service.domain.errors import WalletLimitExceeded
from billing_service.domain.ledger import (
    CreditAccount,
    CreditBalance,
    GrantCredits,
    IdSource,
    ReserveCredit,
    grant,
    reserve,
)
from shared.validation import INT8_MAX, MAX_WALLET

ACCOUNT = CreditAccount("acc-1", AccountStatus.ACTIVE, BillingMode.CREDIT)


def test_a_grant_up_to_the_limit_passes_and_one_past_it_is_refused(ids: IdSource) -> None:
    full = grant("acc-1", CreditBalance.of(MAX_WALLET - 5, 0), GrantCredits("g1", 5), prior=None, ids=ids)
    assert full.balance.wallet == MAX_WALLET
    with pytest.raises(WalletLimitExceeded) as exc:
        grant("acc-1", full.balance, GrantCredits("g2", 1), prior=None, ids=ids)
    assert (exc.value.status, exc.value.code) == (409, "CREDIT_WALLET_LIMIT_EXCEEDED")


def test_a_wallet_pushed_to_the_column_maximum_refuses_more_instead_of_overflowing(ids: IdSource) -> None:
    with pytest.raises(WalletLimitExceeded):
        grant("acc-1", CreditBalance.of(INT8_MAX, 0), GrantCredits("g", 1), prior=None, ids=ids)


def test_an_override_top_up_respects_the_limit(ids: IdSource, now: datetime) -> None:
    cmd = ReserveCredit("r", ref_type="channel_request", ref_id="x", amount=10, operator_override=True)
    with pytest.raises(WalletLimitExceeded):
        reserve(
            ACCOUNT,
            CreditBalance.of(MAX_WALLET, MAX_WALLET),
            cmd,
            prior=None,
            active_hold_for_ref=None,
            now=now,
            ids=ids,
        )
