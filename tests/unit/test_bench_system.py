"""bench.system: the knee of the lifecycle figure and the table rows of the system figures."""

from __future__ import annotations

from typing import Any

from bench.system import cpu_usage, knee, system_rows


def level(concurrency: int, wo_per_s: float) -> dict[str, Any]:
    return {"concurrency": concurrency, "wo_per_s": wo_per_s}


def test_knee_is_the_last_level_that_still_added_ten_percent() -> None:
    assert knee([level(1, 0.1), level(2, 0.19), level(4, 0.2)]) == 2
    assert knee([level(1, 0.1), level(2, 0.105)]) == 1


def test_knee_without_saturation_is_the_highest_level() -> None:
    assert knee([level(1, 0.1), level(2, 0.2), level(4, 0.4)]) == 4
    assert knee([]) is None


def test_rows_set_each_figure_beside_its_target() -> None:
    result = {
        "credits": {"clients": 8, "pairs_per_s": 300.0},
        "rss_idle": {
            "python": {"total_mb": 1300.0, "platform_mb": 1000.0, "tooling_mb": 300.0},
            "jvm": {"total_mb": 270.0},
        },
    }
    rows = system_rows(result, pgbench_tps=1000.0)
    assert rows[0][1:] == ("300.0 pairs/s", "0.300 × pgbench; target ≥ 0.3 ×")
    assert rows[1][1:] == (
        "1,300 MB",
        "platform 1,000 MB + dev tooling 300 MB; JVMs 270 MB; target Python ≤ 700 MB at idle",
    )


def test_cpu_usage_is_per_kind_and_component_in_percent_of_one_core() -> None:
    before = {
        ("billing", "python", 10): 1.0,
        ("supervisor", "python", 11): 0.5,
        ("kafka", "jvm", 12): 3.0,
        ("gone-before", "python", 13): 9.0,
    }
    after = {
        ("billing", "python", 10): 2.0,  # 1 s of CPU in 2 s: 50 %
        ("billing", "python", 20): 0.4,  # the CPU pool's worker, started in between: counted from zero
        ("supervisor", "python", 11): 0.6,
        ("kafka", "jvm", 12): 4.0,
    }
    usage = cpu_usage(before, after, wall_s=2.0)
    assert usage["python"]["processes"] == {"billing": 70.0, "supervisor": 5.0}
    assert (usage["python"]["platform_pct"], usage["python"]["tooling_pct"]) == (70.0, 5.0)
    assert usage["jvm"] == {"total_pct": 50.0, "processes": {"kafka": 50.0}}
    row = system_rows({"cpu_idle": usage}, pgbench_tps=None)[0]
    assert row == (
        "CPU at idle (2 s), % of one core",
        "Python 75 %",
        "platform 70 % + dev tooling 5 %; JVMs 50 %; Postgres 0 %",
    )
