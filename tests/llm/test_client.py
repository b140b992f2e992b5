"""The streaming client against the fake OpenAI server: order, retries, timeouts, breaker."""
from __future__ import annotations

import asyncio
import os
import socket
import sys
import threading
from contextlib import aclosing

import pytest

from llm.breaker import breaker_for, breaker_state
from llm.client import (
    PRIORITY_BACKGROUND,
    PRIORITY_PLAYER,
    Finished,
    LLMStreamCut,
    LLMUnavailable,
    Thinking,
    Token,
    acomplete,
    astream_reply,
    client_for,
    complete_sync,
)
from llm.client.events import LLMConfig
from tests.llm.fake_openai import Fail, Hang, Reply

HELLO = [{"role": "user", "content": "Evening. An ale, please."}]


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("llm.client.calls.RETRY_BACKOFF", 0.01)


async def collect(**kwargs) -> list:
    events = []
    async with aclosing(astream_reply(HELLO, **kwargs)) as stream:
        async for event in stream:
            events.append(event)
    return events


async def collect_until_error(**kwargs) -> tuple[list, Exception]:
    events: list = []
    with pytest.raises((LLMUnavailable, LLMStreamCut)) as caught:
        async with aclosing(astream_reply(HELLO, **kwargs)) as stream:
            async for event in stream:
                events.append(event)
    return events, caught.value


async def test_stream__yields_tokens_in_order_then_finished(fake_llm):
    fake_llm.script(Reply(tokens=("Aye", ",", " one", " ale", " coming", "."), empty_deltas=True))

    events = await collect()

    assert [e.text for e in events if isinstance(e, Token)] == ["Aye", ",", " one", " ale", " coming", "."]
    assert events[-1] == Finished(
        text="Aye, one ale coming.", finish_reason="stop", prompt_tokens=events[-1].prompt_tokens,
        completion_tokens=6, retries=0,
    )
    assert not any(isinstance(e, Token) and e.text == "" for e in events)


async def test_stream__sends_messages_model_and_reply_limit(fake_llm, settings):
    await collect(max_tokens=33, temperature=0.2)
    await collect()

    first, second = fake_llm.chat_requests
    assert first["messages"] == HELLO
    assert first["stream"] is True
    assert first["max_tokens"] == 33 and first["temperature"] == 0.2
    assert second["max_tokens"] == settings.TANKARD_LLM["MAX_REPLY_TOKENS"]
    assert first["model"] == "default"  # remote backend, TANKARD_LLM_MODEL unset


async def test_stream__background_work_says_so_in_a_header(fake_llm, monkeypatch):
    """The local model server caps background replies and keeps them off a player's last slot."""
    monkeypatch.setattr("llm.client.calls.wait_for_players_idle", _no_wait)
    await collect(priority=PRIORITY_BACKGROUND)
    await collect(priority=PRIORITY_PLAYER)

    background, player = [r for r in fake_llm.requests if r.path.endswith("/chat/completions")]
    assert {k.lower(): v for k, v in background.headers.items()}["x-tankard-priority"] == "background"
    assert "x-tankard-priority" not in {k.lower() for k in player.headers}


async def _no_wait() -> bool:
    return True


async def test_stream__reports_server_usage(fake_llm):
    finished = await acomplete(HELLO)

    assert finished.prompt_tokens and finished.prompt_tokens > 0
    assert finished.completion_tokens == 4


async def test_stream__retries_a_500_before_the_first_token(fake_llm):
    fake_llm.script(Fail(500), Reply("Aye."))

    events = await collect()

    assert events[-1].text == "Aye."
    assert events[-1].retries == 1
    assert fake_llm.chat_count == 2


async def test_stream__gives_up_after_the_configured_retries(fake_llm):
    fake_llm.script(Fail(503), Fail(502), Reply("never sent"))

    events, error = await collect_until_error()

    assert isinstance(error, LLMUnavailable) and error.kind == "http_5xx"
    assert events == []
    assert fake_llm.chat_count == 2  # RETRIES = 1


async def test_stream__a_4xx_is_not_retried(fake_llm):
    fake_llm.script(Fail(400, "bad request"))

    _, error = await collect_until_error()

    assert isinstance(error, LLMUnavailable) and error.kind == "http_4xx"
    assert fake_llm.chat_count == 1


async def test_stream__stopping_early_closes_every_generator_of_the_call_at_once(fake_llm):
    """A caller that stops after the first token (the leak guard does) leaves nothing for the
    garbage collector to finalize later, when the response's own iterator may be running. (The
    openai and httpx iterators under the response are the library's: it closes the response.)"""
    fake_llm.script(Reply(tokens=("Well", ",", " you", " see", "."), tokens_per_second=50))
    started: list = []
    hooks = sys.get_asyncgen_hooks()

    def firstiter(agen) -> None:
        started.append(agen)
        if hooks.firstiter is not None:
            hooks.firstiter(agen)

    sys.set_asyncgen_hooks(firstiter=firstiter, finalizer=hooks.finalizer)
    try:
        async with aclosing(astream_reply(HELLO)) as stream:
            async for event in stream:
                if isinstance(event, Token):
                    break
    finally:
        sys.set_asyncgen_hooks(*hooks)

    ours = [agen for agen in started if f"{os.sep}llm{os.sep}client{os.sep}" in agen.ag_code.co_filename]
    assert {agen.__qualname__ for agen in ours} >= {"astream_reply", "_call_with_retries", "stream_attempt"}
    assert [agen.__qualname__ for agen in ours if agen.ag_frame is not None] == []


async def test_stream__a_cut_after_tokens_is_not_retried(fake_llm):
    fake_llm.script(Reply(tokens=("Well", ",", " you", " see"), cut_after=2))

    events, error = await collect_until_error()

    assert isinstance(error, LLMStreamCut) and error.kind == "connect"
    assert error.partial_text == "Well,"
    assert [e.text for e in events if isinstance(e, Token)] == ["Well", ","]
    assert fake_llm.chat_count == 1


async def test_stream__a_cut_before_any_token_is_retried(fake_llm):
    fake_llm.script(Reply("lost", cut_after=0), Reply("Found it."))

    events = await collect()

    assert events[-1].text == "Found it." and events[-1].retries == 1


async def test_stream__hang_is_a_first_token_timeout(fake_llm, settings):
    settings.TANKARD_LLM["FIRST_TOKEN_TIMEOUT"] = 0.3
    fake_llm.script(Hang(), Hang())

    events, error = await collect_until_error()

    assert isinstance(error, LLMUnavailable) and error.kind == "timeout"
    assert not any(isinstance(e, Token) for e in events)
    assert fake_llm.chat_count == 2  # one retry, also timed out


async def test_stream__a_stall_between_tokens_is_a_gap_timeout(fake_llm, settings):
    settings.TANKARD_LLM["TOKEN_GAP_TIMEOUT"] = 0.2
    fake_llm.script(Reply(tokens=("Let", " me", " think"), stall_after=1, stall=2.0))

    _, error = await collect_until_error()

    assert isinstance(error, LLMStreamCut) and error.kind == "timeout"
    assert error.partial_text == "Let"
    assert fake_llm.chat_count == 1


async def test_stream__total_timeout_ends_a_slow_trickle(fake_llm, settings):
    settings.TANKARD_LLM["TOTAL_TIMEOUT"] = 0.5
    fake_llm.script(Reply(text="word " * 50, tokens_per_second=20))

    _, error = await collect_until_error()

    assert isinstance(error, LLMStreamCut) and error.kind == "timeout"


async def test_stream__a_malformed_chunk_before_tokens_is_retried(fake_llm):
    fake_llm.script(Reply("garbled", malformed_after=0), Reply("Clear now."))

    events = await collect()

    assert events[-1].text == "Clear now." and events[-1].retries == 1


async def test_stream__a_malformed_chunk_after_tokens_cuts_the_stream(fake_llm):
    fake_llm.script(Reply(tokens=("One", " two", " three"), malformed_after=2))

    _, error = await collect_until_error()

    assert isinstance(error, LLMStreamCut) and error.kind == "malformed"
    assert error.partial_text == "One two"


async def test_stream__thinking_is_sent_once_when_the_first_token_is_slow(fake_llm, settings):
    settings.TANKARD_LLM["THINKING_AFTER"] = 0.1
    fake_llm.script(Reply("Hmm. Aye.", first_token_delay=0.4))

    events = await collect()

    assert events.count(Thinking()) == 1
    assert isinstance(events[0], Thinking)
    assert events[-1].text == "Hmm. Aye."


async def test_stream__no_thinking_when_the_first_token_is_quick(fake_llm, settings):
    settings.TANKARD_LLM["THINKING_AFTER"] = 5.0

    events = await collect()

    assert Thinking() not in events


async def test_stream__connection_refused_is_connect(fake_llm, monkeypatch):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{port}/v1")

    _, error = await collect_until_error()

    assert isinstance(error, LLMUnavailable) and error.kind == "connect"


async def test_breaker__opens_after_repeated_failures_and_short_circuits(fake_llm, settings):
    settings.TANKARD_LLM["RETRIES"] = 0
    fake_llm.script(*[Fail(500)] * 5)

    for _ in range(5):
        _, error = await collect_until_error()
        assert error.kind == "http_5xx"
    _, error = await collect_until_error()

    assert error.kind == "breaker_open"
    assert breaker_state(fake_llm.base_url) == "open"
    assert fake_llm.chat_count == 5  # the sixth call never reached the server


async def test_breaker__half_opens_after_the_cooldown_and_a_good_probe_closes_it(fake_llm, settings):
    settings.TANKARD_LLM["RETRIES"] = 0
    breaker = breaker_for(fake_llm.base_url)
    breaker.failure_threshold, breaker.cooldown = 2, 0.2
    fake_llm.script(Fail(500), Fail(500))
    for _ in range(2):
        await collect_until_error()
    assert breaker_state(fake_llm.base_url) == "open"

    await asyncio.sleep(0.25)
    assert breaker_state(fake_llm.base_url) == "half_open"
    events = await collect()

    assert isinstance(events[-1], Finished)
    assert breaker_state(fake_llm.base_url) == "closed"
    assert fake_llm.chat_count == 3


async def test_breaker__a_failed_probe_opens_it_again(fake_llm, settings):
    settings.TANKARD_LLM["RETRIES"] = 0
    breaker = breaker_for(fake_llm.base_url)
    breaker.failure_threshold, breaker.cooldown = 1, 0.2
    fake_llm.script(Fail(500), Fail(500))
    await collect_until_error()
    await asyncio.sleep(0.25)

    _, probe_error = await collect_until_error()
    _, error = await collect_until_error()

    assert probe_error.kind == "http_5xx"
    assert error.kind == "breaker_open"
    assert fake_llm.chat_count == 2


async def test_breaker__client_errors_do_not_count(fake_llm, settings):
    settings.TANKARD_LLM["RETRIES"] = 0
    fake_llm.script(*[Fail(422)] * 6)

    for _ in range(6):
        await collect_until_error()

    assert breaker_state(fake_llm.base_url) == "closed"


async def test_acomplete__returns_the_finished_reply(fake_llm):
    fake_llm.script(Reply("Two coppers."))

    finished = await acomplete(HELLO, priority=PRIORITY_PLAYER, conversation="greta")

    assert finished.text == "Two coppers."


def test_complete_sync__works_from_a_worker_thread(fake_llm):
    fake_llm.script(Reply("From the back room."), Reply("And again."))
    results = []

    worker = threading.Thread(target=lambda: results.append(complete_sync(HELLO)))
    worker.start()
    worker.join(10)
    results.append(complete_sync(HELLO))

    assert [r.text for r in results] == ["From the back room.", "And again."]


def test_client_for__one_client_per_event_loop(fake_llm):
    config = LLMConfig.from_settings()

    async def two_lookups():
        return client_for(fake_llm.base_url, "k", config), client_for(fake_llm.base_url, "k", config)

    first_a, first_b = asyncio.run(two_lookups())
    second_a, _ = asyncio.run(two_lookups())

    assert first_a is first_b
    assert second_a is not first_a
