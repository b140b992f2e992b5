"""./tankard bench's table: built from the benches' JSON results, a ratio where a figure has a
baseline, a reason where a bench has no figures, and only the marked part of the document replaced.
(No bench is run here: their figures are wall-clock times, never asserted in tests.)"""
import json

import pytest

from bench import report
from bench.run import TABLE_END, TABLE_START, Bench, doc_with_table, results_check, results_load, table

TTFT = {"bench": "llm_ttft", "machine": "2 cores, shared; load 3.1", "date": "2026-12-06",
        "command": ".venv/bin/python bench/llm_ttft.py --fake --turns 40",
        "figures": [{"name": "time to first token through the game (baseline: straight)", "value": 306.0, "unit": "ms",
                     "target": "≤ baseline + 5 ms", "met": True, "baseline": 300.0},
                    {"name": "what the game adds", "value": 6.2, "unit": "ms", "target": "< 5 ms", "met": False,
                     "baseline": None}]}
LOAD = {"bench": "load_embedded", "machine": "2 cores", "date": "2026-11-30", "command": "python bench/loadtest.py",
        "figures": [{"name": "throughput | per process", "value": 0.93, "unit": "x raw", "target": ">= 0.9x raw",
                     "met": True, "baseline": 120}]}
BENCHES = (Bench("llm_ttft", ("bench/llm_ttft.py",)), Bench("load_embedded", ("bench/loadtest.py",)),
           Bench("not_written", ("bench/not_written_yet.py",)), Bench("reply_cache", ("bench/reply_cache.py",)))


@pytest.fixture
def results_dir(tmp_path):
    for data in (TTFT, LOAD):
        (tmp_path / f"{data['bench']}.json").write_text(json.dumps(data))
    (tmp_path / "broken.json").write_text('{"bench": "broken", "figures": []}')
    return tmp_path


def rows(text: str) -> list[list[str]]:
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in text.splitlines()[2:]]


def test_table__every_figure_with_its_target_date_machine_and_command(results_dir):
    lines = rows(table(BENCHES, results_load(results_dir)))

    assert lines[0] == ["llm_ttft", "time to first token through the game (baseline: straight)", "≤ baseline + 5 ms",
                        "306 ms = 1.02× baseline (300 ms)", "yes", "2026-12-06", "2 cores, shared; load 3.1",
                        "`.venv/bin/python bench/llm_ttft.py --fake --turns 40`"]
    assert lines[1] == ["", "what the game adds", "< 5 ms", "6.2 ms", "**no**", "", "", ""]


def test_table__a_ratio_unit_is_kept_and_pipes_in_a_name_do_not_split_a_row(results_dir):
    line = table(BENCHES, results_load(results_dir)).splitlines()[4]

    assert "throughput \\| per process" in line and "0.93 x raw (baseline 120)" in line
    assert line.count(" | ") == 7


def test_table__benches_without_figures_say_why_and_a_note_keeps_old_figures(results_dir):
    notes = {"llm_ttft": "failed: exit 1 on 2026-12-07", "reply_cache": "not run on 2026-12-07: Redis does not answer"}
    text = table(BENCHES, results_load(results_dir), notes)
    lines = rows(text)

    assert lines[0][0] == "llm_ttft (failed: exit 1 on 2026-12-07)" and lines[0][5] == "2026-12-06"
    assert lines[3][:2] == ["not_written", "not available: bench/not_written_yet.py does not exist yet"]
    assert lines[4][:2] == ["reply_cache", "not run on 2026-12-07: Redis does not answer"]
    assert "broken" not in text  # results with no figures are refused, not shown


def test_table__a_bench_never_run_says_how_to_run_it():
    assert rows(table(BENCHES, {}))[3][1] == "not run yet: `./tankard bench reply_cache`"


def test_doc_with_table__replaces_only_between_the_markers():
    doc = f"# Benchmarks\nintro\n{TABLE_START}\n| old | table |\n{TABLE_END}\n## Method\ntext\n"

    new = doc_with_table(doc, "| new |")

    assert new == f"# Benchmarks\nintro\n{TABLE_START}\n| new |\n{TABLE_END}\n## Method\ntext\n"
    assert doc_with_table(new, "| new |") == new
    with pytest.raises(ValueError):
        doc_with_table("# no markers\n", "| new |")


@pytest.mark.parametrize("broken", [
    [], {"bench": "x"}, {**TTFT, "date": "6 December"}, {**TTFT, "figures": []},
    {**TTFT, "figures": [{"name": "n", "value": "fast", "unit": "", "target": "", "met": None, "baseline": None}]},
    {**TTFT, "figures": [{"name": "n", "value": 1, "unit": "", "target": "", "met": "yes", "baseline": None}]},
    {**TTFT, "figures": [{"name": "n", "value": 1, "unit": "", "target": "", "met": None}]},
])
def test_results_check__refuses_what_is_not_the_contract(broken):
    with pytest.raises(ValueError):
        results_check(broken)


def test_report_write__what_a_bench_writes_is_what_the_table_reads(tmp_path, monkeypatch):
    monkeypatch.setenv("TANKARD_BENCH_MACHINE", "2 cores, shared")
    monkeypatch.setattr("sys.argv", ["bench/x.py", "--turns", "5", "--json", str(tmp_path / "x.json")])
    report.write(tmp_path / "x.json", "x", [report.figure("p99", 12.345678, "ms", "< 50 ms", baseline=4.0)])

    data = results_check(json.loads((tmp_path / "x.json").read_text()))
    assert data["machine"].startswith("2 cores, shared; load ")
    assert data["command"] == ".venv/bin/python bench/x.py --turns 5"
    assert data["figures"] == [{"name": "p99", "value": 12.3457, "unit": "ms", "target": "< 50 ms", "met": True,
                                "baseline": 4.0}]


@pytest.mark.parametrize("value, target, met", [
    (49.9, "< 50 ms", True), (50, "< 50 ms", False), (94.0, ">= 80 %", True), (0.6, "≤ 1 %", True), (2, "≤ 1 %", False),
    (0, "= 0", True), (1, "= 0", False), (100.0, "100%", True), (3.8, "≤ baseline + 5 ms", None), (1500, "< 1,500 ms", False),
])
def test_target_met__reads_the_usual_targets(value, target, met):
    assert report.target_met(value, target) is met


def test_figure__met_may_be_stated_even_against_the_target():
    assert report.figure("too noisy to tell", 3.0, "ms", "< 5 ms", met=None)["met"] is None
    assert report.figure("no target", 3.0, "ms")["met"] is None


def test_command_shown__without_where_this_runs_results_went():
    from bench.run import _without_json_path

    assert _without_json_path(".venv/bin/python bench/reply_cache.py --quick --json /tmp/t/figures.json") == \
        ".venv/bin/python bench/reply_cache.py --quick"
    assert _without_json_path("python bench/x.py --json=/tmp/f.json --turns 5") == "python bench/x.py --turns 5"
