"""The load test's own logic: loopback only, percentiles, and messages shaped by what the player sees.
(A short run against real servers is in test_scale_out.py.)"""
import random

import pytest

from bench.loadtest import MIX, Pending, Run, View, check_loopback, next_message, on_frame, percentile


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:8000"])
def test_check_loopback__allows_this_machine(url):
    check_loopback(url)


@pytest.mark.parametrize("url", ["http://10.0.0.5:8000", "http://203.0.113.7"])
def test_check_loopback__refuses_other_hosts(url):
    with pytest.raises(SystemExit):
        check_loopback(url)


def test_percentile__nearest_rank():
    values = [i / 100 for i in range(1, 101)]
    assert percentile(values, 50) == pytest.approx(0.5, abs=0.011)
    assert percentile(values, 99) == pytest.approx(0.99, abs=0.011)
    assert percentile([], 99) != percentile([], 99)  # nan: no samples


def test_next_message__says_only_to_present_npcs_and_goes_by_real_exits():
    view = View()
    view.update({"location": {"slug": "common-room", "exits": [{"slug": "kitchen", "name": "The Kitchen"}]},
                 "npcs": [{"slug": "gareth"}], "suggestions": ["buy ale"], "inventory": []})
    rng = random.Random(3)
    kinds = set()
    for n in range(400):
        kind, message = next_message(view, rng, f"m{n}")
        kinds.add(kind)
        assert message["id"] == f"m{n}"
        if kind == "say":
            assert message["type"] == "say" and message["npc"] == "gareth" and message["text"]
        elif kind == "go":
            assert message["text"] == "go to kitchen"
    assert kinds == set(MIX)


def test_on_frame__final_frame_records_latency_once():
    run = Run()
    run.pending["a1"] = Pending(kind="look", sent_at=0.0, stats=run.stats)
    view = View()
    on_frame(run, view, {"type": "npc.token", "reply_to": "a1", "text": "x"})
    on_frame(run, view, {"type": "error", "reply_to": "a1", "code": "not_allowed", "text": "No."})
    on_frame(run, view, {"type": "narration", "reply_to": "a1", "text": "late duplicate"})
    assert "a1" not in run.pending
    assert len(run.stats.latency["look"]) == 1
    assert run.stats.finals == {"error:not_allowed": 1} and not run.stats.errors
