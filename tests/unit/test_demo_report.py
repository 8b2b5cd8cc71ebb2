"""``make demo``'s reporting, without a stack: amounts, trace links, the board's lines, the summary."""

from __future__ import annotations

import io

from rich.console import Console

from scripts.demo.progress import Board
from scripts.demo.run import LANES, V1, DemoResult, DemoSettings, _rupees, summary


def test_amounts_in_the_indian_grouping_the_reports_print() -> None:
    assert [_rupees(v) for v in (3500000, 3325000, 999, 1000, 123456789)] == [
        "₹ 35,00,000",
        "₹ 33,25,000",
        "₹ 999",
        "₹ 1,000",
        "₹ 12,34,56,789",
    ]


def test_trace_links_go_to_zipkin_when_it_runs() -> None:
    with_zipkin = DemoSettings("http://gw", "token", zipkin_url="http://127.0.0.1:9411/")
    without = DemoSettings("http://gw", "token")
    assert with_zipkin.trace_url("abc") == "http://127.0.0.1:9411/zipkin/traces/abc"
    assert without.trace_url("abc") == "abc"
    assert with_zipkin.trace_url("") == "(no x-trace-id header)"


def test_the_board_prints_each_step_and_failure_as_a_line() -> None:
    out = io.StringIO()
    with Board(Console(file=out, width=200), live=False) as board:
        steps = board.lane("credit", "CREDIT")
        steps.step("create work order")
        steps.note("work order 1 [bold]")
        board.failed("credit", RuntimeError("gate said no"))
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["CREDIT", "==>", "create", "work", "order"]
    assert lines[1].split() == ["CREDIT", "work", "order", "1", "[bold]"]  # data is never markup
    assert lines[2].split()[:3] == ["CREDIT", "FAILED:", "RuntimeError:"]
    assert board.lanes["credit"].state == "FAILED"


def test_the_summary_names_every_path_even_when_it_failed() -> None:
    result = DemoResult(failures={"paid": "FlowError: blocked", V1: "FlowError: no hold"})
    out = io.StringIO()
    Console(file=out, width=240).print(summary(result, DemoSettings("http://gw", "token")))
    text = out.getvalue()
    for _, title, _, expected in LANES:
        assert title in text
        assert " -> ".join(expected) in text
    assert "V1 bridge" in text
    assert text.count("FAILED (below)") == 2  # the POSTPAID lane and V1
    assert "not run" in text  # the lanes without an outcome or a failure
    assert not result.ok
