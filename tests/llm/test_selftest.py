"""The model self-test (llm/selftest.py) and the supervisor giving up on a server that crashes on
every prompt: a broken build is reported in plain words, at start and in /ht/, and not looped on."""
from __future__ import annotations

import json
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from llm import local_server
from llm.local_server import LocalModelSupervisor, exit_described
from llm.selftest import SelfTest, backend_selftest, model_selftest, reply_garbled, selftest_advice, selftest_problem, selftest_record
from tests.llm.fake_openai import Hang, Reply
from tests.llm.local_model import free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def no_selftest_outcome():
    selftest_record(SelfTest(True, "", 0.0))
    yield
    selftest_record(SelfTest(True, "", 0.0))


@pytest.fixture
def crashing_supervisor(settings, monkeypatch):
    """The supervisor running, as the local model server, a server that dies with SIGSEGV on every chat request."""
    port = free_port()
    settings.TANKARD_LLM = {**settings.TANKARD_LLM, "LOCAL_PORT": port}
    settings.TANKARD_LLM_MODEL = ""
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.chdir(ROOT)
    supervisor = LocalModelSupervisor(
        port=port, command=[sys.executable, "-m", "tests.llm.crashing_server", str(port)],
        restart_backoff=(0.1,), give_up_after=3,
    )
    supervisor.start()
    assert supervisor.wait_ready(30), "the crashing server did not start"
    yield supervisor
    supervisor.stop()


def chat(base_url: str) -> None:
    body = json.dumps({"model": "smollm2", "messages": [{"role": "user", "content": "Evening, friend."}]}).encode()
    request = urllib.request.Request(f"{base_url}/chat/completions", data=body, headers={"Content-Type": "application/json"})
    try:
        urllib.request.urlopen(request, timeout=10).read()
    except OSError:
        pass


def test_selftest__a_server_that_crashes_is_named_a_crash(crashing_supervisor):
    result = backend_selftest(supervisor=crashing_supervisor)

    assert not result.ok
    assert "the model server crashed (segmentation fault, SIGSEGV)" in result.problem
    assert selftest_problem() == result.problem


def test_supervisor__gives_up_on_a_server_that_dies_at_every_prompt(crashing_supervisor):
    deadline = time.monotonic() + 60
    while not crashing_supervisor.gave_up and time.monotonic() < deadline:
        if crashing_supervisor.wait_ready(5):
            chat(crashing_supervisor.base_url)
        time.sleep(0.05)

    status = crashing_supervisor.status()
    assert status["gave_up"] and not status["running"]
    assert status["restarts"] == 2, "three starts, then no more"
    assert "crashed (segmentation fault, SIGSEGV) 3 times in a row" in status["problem"]
    time.sleep(0.5)
    assert crashing_supervisor.pid is None, "a server given up on is not started again"


def test_ht__names_the_failed_selftest(client, fake_llm, db):
    selftest_record(SelfTest(False, "the model server crashed (segmentation fault, SIGSEGV) while answering a short prompt", 0.2))

    response = client.get("/ht/?format=json")

    assert response.status_code == 500
    assert response.json()["LLMBackend()"] == (
        "Unavailable: model self-test failed: the model server crashed (segmentation fault, SIGSEGV) while answering a short prompt"
    )


def test_ht__names_the_server_given_up_on(client, db, crashing_supervisor, monkeypatch):
    monkeypatch.setattr(local_server, "_supervisor", crashing_supervisor)
    crashing_supervisor.last_exit, crashing_supervisor.gave_up = exit_described(-11), True

    response = client.get("/ht/?format=json")

    assert response.status_code == 500
    assert "local model server crashed (segmentation fault, SIGSEGV) 3 times in a row" in response.json()["LLMBackend()"]


def test_selftest__a_fluent_reply_passes(fake_llm):
    fake_llm.script(Reply("Ah, friend, the dark ale is good tonight."))

    result = model_selftest(base_url=fake_llm.base_url, api_key="k", model="fake-model")

    assert result.ok and result.problem == "" and result.reply.startswith("Ah, friend")
    assert fake_llm.chat_requests[0]["max_tokens"] > 0 and len(fake_llm.chat_requests[0]["messages"]) == 2


@pytest.mark.parametrize("text, verdict", [
    ("", "empty"),
    ("<0x0A><0x0A>####%%%%$$$$", "not words"),
    ("ggggg hhhhh kkkkk", "not words"),
])
def test_selftest__garbage_fails_with_what_came_back(fake_llm, text, verdict):
    fake_llm.script(Reply(text))

    result = model_selftest(base_url=fake_llm.base_url, api_key="k", model="fake-model")

    assert not result.ok and result.problem.startswith(f"the model's answer to a short prompt was {verdict}")
    assert reply_garbled(text).startswith(verdict)


def test_selftest__a_model_that_never_answers_times_out(fake_llm):
    fake_llm.script(Hang())

    result = model_selftest(base_url=fake_llm.base_url, api_key="k", model="fake-model", timeout=1.0)

    assert not result.ok and result.problem == "the model did not answer a short prompt within 1 s"


def test_selftest__advice_names_the_version_and_what_to_try():
    advice = selftest_advice("the model server crashed (segmentation fault, SIGSEGV) while answering a short prompt", local=True)

    assert "llama-cpp-python" in advice and "./tankard doctor" in advice and "OPENAI_BASE_URL" in advice
    assert "Traceback" not in advice


@pytest.mark.parametrize("code, words", [(-11, "crashed (segmentation fault, SIGSEGV)"), (-4, "crashed (illegal instruction"),
                                         (-9, "was stopped by SIGKILL"), (1, "exited with code 1")])
def test_exit_described__plain_words(code, words):
    assert exit_described(code).startswith(words)
