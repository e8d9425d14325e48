"""The benchmarks run: each scenario on a tiny size, one repetition. Only the shape of the
results is checked here — never a timing (timing goals live in `make bench`, not in tests)."""

from __future__ import annotations

import json

import pytest

from bench import run as bench_run

TINY = ["--size", "3", "--samples", "2", "--repeat", "1", "--no-warmup"]
SCENARIOS = ["bulk_confirmation", "status_latency", "booking_list", "worker_drain", "bulk_confirmation_slow"]


def check_structure(results: list[dict], db: str) -> None:
    assert [r["scenario"] for r in results] == SCENARIOS
    for result in results:
        assert result["db"] == db
        assert isinstance(result["cpu_count"], int) and result["cpu_count"] >= 1
        assert result["machine"]["python"]
        assert result["db_version"]
        assert isinstance(result["settings"], dict) and "RESIVO_CONCURRENCY" in result["settings"]
        assert result["repetitions"] == 1 and len(result["runs"]) == 1
        assert isinstance(result["medians"], dict) and result["medians"]
        # The table can be made from what was measured.
        module = bench_run._module(result["scenario"])
        assert module.table_rows(result["medians"])
        assert result["runs"][0]["peak_rss_mb"] > 10
        assert "load1_max" in result["runs"][0]["machine_load_during"]

    by_name = {r["scenario"]: r for r in results}

    bulk = by_name["bulk_confirmation"]["runs"][0]
    assert bulk["completed"] is True
    assert bulk["bookings"] == 3
    assert bulk["token_requests"] == 1
    assert bulk["resivo_calls"]["create_remote_access"] == 3
    assert bulk["lower_bound_s"] > 0 and bulk["ratio_to_lower_bound"] > 0
    # One door list for the run, then a create per grant.
    assert bulk["resivo_calls_per_grant_after_directory"] == 1.0
    assert bulk["attempts_per_grant_mean"] >= 1
    assert by_name["bulk_confirmation_slow"]["settings"]["sandbox_latency_ms"] == 200
    assert bulk["http_errors"] == 0 and bulk["graphql_errors"] == 0
    assert len(bulk["raw"]["request_latency_ms"]) == 3
    assert bulk["access_check"]["ok"] is True

    latency = by_name["status_latency"]["runs"][0]
    for key in ("latency_0ms", "latency_50ms"):
        variant = latency[key]
        assert set(variant["overhead_ms"]) == {"p50", "p95", "p99"}
        assert variant["graphql_http_ms"]["n"] == variant["bare_service_ms"]["n"] == 3
        assert variant["graphql_errors"] == 0
        assert len(latency["raw"][key]["graphql_http_ms"]) == 3

    listing = by_name["booking_list"]["runs"][0]
    assert listing["page_sizes"] == [1, 3]
    for key in ("first_1", "first_3"):
        page = listing[key]
        assert page["edges_returned_ok"] is True and page["hand_written_rows_ok"] is True
        assert page["errors"] == 0
        assert page["sql_statements_per_request"] >= 1
        assert page["ratio_p50"] > 0
        assert page["server_cpu_ms_per_request"] > 0 and page["p95_over_p50"] >= 1
    assert isinstance(listing["statements_grow_with_page_size"], bool)

    drain = by_name["worker_drain"]["runs"][0]
    assert drain["completed"] is True
    assert drain["grants"] == drain["due_at_start"] == 3
    assert drain["attempts_per_grant_max"] >= 1
    assert drain["resivo_calls_per_grant"] >= 1 and drain["sql_statements_per_grant"] > 0
    assert sum(drain["attempts_histogram"].values()) == 3
    assert drain["access_check"]["ok"] is True
    assert drain["access_check"]["orphan_active_sets"] == 0


def test_every_scenario_runs_on_sqlite(tmp_path, capsys):
    output = tmp_path / "results.json"
    markdown = tmp_path / "results.md"
    assert bench_run.main([*TINY, "--db", "sqlite", "--output", str(output), "--markdown", str(markdown)]) == 0
    results = json.loads(output.read_text())
    check_structure(results, "sqlite")
    assert "| Scenario | DB |" in markdown.read_text()
    assert "wall time until all ACTIVE" in capsys.readouterr().out


@pytest.mark.postgres
@pytest.mark.anyio
async def test_every_scenario_runs_on_postgres(postgres_server):
    options = bench_run.parse_args([*TINY, "--db", "postgres"])
    results = await bench_run.run_all(options, postgres_server=postgres_server)
    check_structure(results, "postgres")


def test_scenarios_are_chosen_by_number_or_name():
    assert [m.NAME for m in bench_run.selected_scenarios("1,booking_list")] == ["bulk_confirmation", "booking_list"]
    with pytest.raises(SystemExit):
        bench_run.selected_scenarios("9")
    assert [m.NAME for m in bench_run.selected_scenarios("5")] == ["bulk_confirmation_slow"]
