"""The printed report of a chaos run (what the README's "Chaos run" section explains)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from scripts.chaos.orders import EXPECTED_GATE, Plan
from scripts.chaos.run import Report

__all__ = ["render"]


def render(report: Report, out: Callable[[str], None] = print) -> None:
    """Print ``report``: orders, kills with recovery times, retries, books, duplicates, verdict."""
    o = report.options
    out("")
    out(
        f"== chaos run: {len(report.orders)} work orders, {o.concurrency} clients, seed {o.seed}, "
        f"{report.seconds:.0f} s, tenant {report.tenant_id}"
    )

    out("-- work orders (plan: released with the expected gate result / total)")
    by_plan: Counter[Plan] = Counter(order.plan for order in report.orders)
    for plan in Plan:
        if not by_plan[plan]:
            continue
        done = [x for x in report.orders if x.plan is plan and x.release_result == EXPECTED_GATE[plan]]
        times = sorted(x.seconds for x in report.orders if x.plan is plan)
        median = times[len(times) // 2] if times else 0.0
        out(
            f"   {plan.value:<18} {len(done):>3} / {by_plan[plan]:<3} {EXPECTED_GATE[plan]:<16} "
            f"median {median:.0f} s, slowest {max(times, default=0.0):.0f} s"
        )
    failed = [x for x in report.orders if x.error is not None]
    gave_up = sum(1 for x in report.orders if x.gave_up_on_404)
    out(f"   not at their end state: {len(failed)}   clients that gave up on a 404: {gave_up}")

    out("-- kills (SIGKILL, back by the supervisor alone)")
    for kill in report.kills:
        back = (
            f"back after {kill.back_after_s:6.1f} s (pid {kill.new_pid})"
            if kill.back_after_s is not None
            else kill.note
        )
        out(f"   t={kill.at_s:6.1f}s  {kill.target:<18} pid {kill.pid!s:<8} {back}")
    times = [k.back_after_s for k in report.kills if k.back_after_s is not None]
    if times:
        out(
            f"   recovery: {len(times)}/{len(report.kills)} back, mean {sum(times) / len(times):.1f} s, "
            f"max {max(times):.1f} s"
        )

    stats = report.stats
    reasons = ", ".join(f"{reason} x{n}" for reason, n in stats.reasons.most_common()) or "none"
    out(
        f"-- client retries (same idempotency key, honouring Retry-After): {stats.retries} over "
        f"{stats.requests} requests ({reasons}); longest request {stats.longest_s:.1f} s"
    )

    b = report.books
    if report.credit_account_id:
        out(f"-- credits (account {report.credit_account_id})")
        out(
            f"   granted {b.granted}, consumed {b.consumed} (holds), wallet {b.wallet} = ledger sum "
            f"{b.ledger_wallet_sum}; reserved {b.reserved} = active holds {b.active_holds}; "
            f"available {b.available}"
        )
        lost_or_doubled = b.granted - b.consumed - b.wallet
        out(f"   lost or doubled credits: {abs(lost_or_doubled)}")

    before, after = report.stuck_before, report.stuck_after
    out("-- stuck after the drain (before the run in brackets)")
    out(
        f"   outbox unpublished {sum(after.outbox.values())}, unsendable {sum(after.unsendable.values())} "
        f"({sum(before.unsendable.values())}), parked {sum(after.parked.values())} "
        f"({sum(before.parked.values())}), DLQ {after.dlq} ({before.dlq}), consumer lag {after.lag}"
    )

    metric = (
        "no duplicates counter in /metrics"
        if report.duplicates_metric < 0
        else f"{report.duplicates_metric:.0f}"
    )
    resent = ", ".join(f"{topic} x{n}" for topic, n in report.resent.most_common()) or "none"
    out(
        f"-- duplicates absorbed: /metrics {metric}; re-sent on the topics {sum(report.resent.values())} "
        f"({resent}); stale messages ignored by the inboxes {b.stale_absorbed}"
    )

    if report.violations:
        out(f"== FAILED: {len(report.violations)} violation(s)")
        for violation in report.violations:
            out(f"   - {violation}")
    else:
        out("== OK: 0 lost, 0 doubled, every work order at its end state, nothing stuck, no manual restart")
