"""The queue in front of the model: priorities, limits, conversations, cancellation, players."""
from __future__ import annotations

import asyncio
from contextlib import aclosing

import pytest
from django.core.cache import cache

from llm import gate as gate_module
from llm.client import PRIORITY_BACKGROUND, PRIORITY_PLAYER, Finished, Queued, Token, acomplete, astream_reply
from llm.errors import LLMUnavailable
from llm.gate import PLAYERS_KEY, Gate, in_flight, players_active, queue_depth
from tests.llm.fake_openai import Hang, Reply

HELLO = [{"role": "user", "content": "Anything to eat?"}]


@pytest.fixture(autouse=True)
def no_players_announced():
    cache.delete(PLAYERS_KEY)
    yield
    cache.delete(PLAYERS_KEY)


async def eventually(condition, timeout: float = 3.0) -> None:
    """Wait until `condition()` holds (the fake server runs in another thread)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition never became true"
        await asyncio.sleep(0.01)


def granted(tickets) -> list[bool]:
    return [t.granted for t in tickets]


# --- Gate alone -------------------------------------------------------------------------------------

async def test_gate__players_go_before_background_then_first_come_first_served():
    gate = Gate(concurrency=1, queue_size=10)
    running = gate.enter(priority=PRIORITY_BACKGROUND)
    background_1 = gate.enter(priority=PRIORITY_BACKGROUND)
    background_2 = gate.enter(priority=PRIORITY_BACKGROUND)
    player = gate.enter(priority=PRIORITY_PLAYER)
    assert (player.position, background_1.position, background_2.position) == (1, 2, 3)

    running.release()
    assert granted([player, background_1, background_2]) == [True, False, False]
    player.release()
    assert granted([background_1, background_2]) == [True, False]
    background_1.release()
    assert background_2.granted


async def test_gate__never_runs_more_than_the_concurrency_limit():
    gate = Gate(concurrency=2, queue_size=10)
    tickets = [gate.enter(priority=PRIORITY_PLAYER) for _ in range(5)]

    assert granted(tickets) == [True, True, False, False, False]
    assert (gate.in_flight, gate.depth) == (2, 3)
    tickets[0].release()
    assert granted(tickets) == [True, True, True, False, False]
    assert gate.in_flight == 2


async def test_gate__a_full_queue_refuses_with_queue_full():
    gate = Gate(concurrency=1, queue_size=2)
    gate.enter(priority=PRIORITY_PLAYER)
    gate.enter(priority=PRIORITY_PLAYER)
    gate.enter(priority=PRIORITY_PLAYER)

    with pytest.raises(LLMUnavailable) as caught:
        gate.enter(priority=PRIORITY_PLAYER)

    assert caught.value.kind == "queue_full"
    assert gate.depth == 2


async def test_gate__a_player_evicts_background_work_from_a_full_queue():
    gate = Gate(concurrency=1, queue_size=1)
    gate.enter(priority=PRIORITY_PLAYER)
    background = gate.enter(priority=PRIORITY_BACKGROUND)

    player = gate.enter(priority=PRIORITY_PLAYER)

    assert player.position == 1 and gate.depth == 1
    with pytest.raises(LLMUnavailable) as caught:
        await background.wait_change()
    assert caught.value.kind == "queue_full"


async def test_gate__one_request_at_a_time_per_conversation():
    gate = Gate(concurrency=3, queue_size=10)
    first = gate.enter(priority=PRIORITY_PLAYER, conversation="greta:ayla")
    second = gate.enter(priority=PRIORITY_PLAYER, conversation="greta:ayla")
    other = gate.enter(priority=PRIORITY_PLAYER, conversation="tom:ayla")

    assert granted([first, second, other]) == [True, False, True]
    first.release()
    assert second.granted


async def test_gate__release_is_idempotent_and_frees_waiters():
    gate = Gate(concurrency=1, queue_size=10)
    running = gate.enter(priority=PRIORITY_PLAYER)
    waiting = gate.enter(priority=PRIORITY_PLAYER)
    waiting.release()
    waiting.release()
    running.release()
    running.release()

    assert (gate.in_flight, gate.depth) == (0, 0)


# --- Through the client -------------------------------------------------------------------------------

async def start_stream(events: list, **kwargs) -> asyncio.Task:
    async def consume():
        async with aclosing(astream_reply(HELLO, **kwargs)) as stream:
            async for event in stream:
                events.append(event)

    return asyncio.create_task(consume())


async def test_client__waiting_callers_see_their_queue_position(fake_llm, settings):
    settings.TANKARD_LLM["CONCURRENCY"] = 1
    settings.TANKARD_LLM["FIRST_TOKEN_TIMEOUT"] = 30
    fake_llm.script(Hang())
    first_events, second_events, third_events = [], [], []
    first = await start_stream(first_events)
    await eventually(lambda: fake_llm.chat_count == 1)
    second = await start_stream(second_events)
    third = await start_stream(third_events)
    await eventually(lambda: Queued(2) in third_events)

    second.cancel()
    await eventually(lambda: Queued(1) in third_events)

    assert second_events == [Queued(1)]
    assert queue_depth() == 1 and in_flight() == 1
    first.cancel()
    await third
    assert isinstance(third_events[-1], Finished)
    assert queue_depth() == 0 and in_flight() == 0


async def test_client__a_cancelled_waiter_leaves_the_queue(fake_llm, settings):
    settings.TANKARD_LLM["CONCURRENCY"] = 1
    settings.TANKARD_LLM["FIRST_TOKEN_TIMEOUT"] = 30
    fake_llm.script(Hang())
    running = await start_stream([])
    await eventually(lambda: in_flight() == 1)
    waiter_events: list = []
    waiter = await start_stream(waiter_events)
    await eventually(lambda: queue_depth() == 1)

    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)

    assert queue_depth() == 0 and in_flight() == 1
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    assert in_flight() == 0
    assert fake_llm.chat_count == 1


async def test_client__leaving_a_stream_early_releases_its_slot(fake_llm, settings):
    settings.TANKARD_LLM["CONCURRENCY"] = 1
    fake_llm.script(Reply(text="word " * 40, tokens_per_second=50))

    async with aclosing(astream_reply(HELLO)) as stream:
        async for event in stream:
            if isinstance(event, Token):
                break
    follow_up = await acomplete(HELLO)

    assert in_flight() == 0
    assert follow_up.text


async def test_client__queue_full_when_the_queue_is_full(fake_llm, settings):
    settings.TANKARD_LLM["CONCURRENCY"] = 1
    settings.TANKARD_LLM["QUEUE_SIZE"] = 1
    settings.TANKARD_LLM["FIRST_TOKEN_TIMEOUT"] = 30
    fake_llm.script(Hang())
    tasks = [await start_stream([])]
    await eventually(lambda: in_flight() == 1)
    tasks.append(await start_stream([]))
    await eventually(lambda: queue_depth() == 1)

    with pytest.raises(LLMUnavailable) as caught:
        await acomplete(HELLO)

    assert caught.value.kind == "queue_full"
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_client__same_conversation_waits_for_the_previous_reply(fake_llm, settings):
    settings.TANKARD_LLM["CONCURRENCY"] = 4
    fake_llm.script(Reply("First.", first_token_delay=0.3), Reply("Second."))

    first = asyncio.create_task(acomplete(HELLO, conversation="greta:ayla"))
    await eventually(lambda: fake_llm.chat_count == 1)
    second_events: list = []
    second = await start_stream(second_events, conversation="greta:ayla")
    await asyncio.sleep(0.1)

    assert fake_llm.chat_count == 1 and second_events == [Queued(1)]
    assert (await first).text == "First."
    await second
    assert second_events[-1].text == "Second."


# --- Players across processes ----------------------------------------------------------------------

async def test_players__a_player_request_is_announced_while_it_runs(fake_llm, settings):
    settings.TANKARD_LLM["FIRST_TOKEN_TIMEOUT"] = 30
    fake_llm.script(Hang())
    task = await start_stream([], priority=PRIORITY_PLAYER)
    await eventually(lambda: fake_llm.chat_count == 1)

    await eventually(lambda: players_active() == 1)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await eventually(lambda: players_active() == 0)


async def test_players__background_work_waits_while_players_are_active_elsewhere(fake_llm, monkeypatch):
    monkeypatch.setattr(gate_module, "PLAYER_POLL_INTERVAL", 0.02)
    cache.set(PLAYERS_KEY, 1)  # a player request in another process

    background = asyncio.create_task(acomplete(HELLO, priority=PRIORITY_BACKGROUND))
    await asyncio.sleep(0.2)
    assert fake_llm.chat_count == 0 and not background.done()

    cache.set(PLAYERS_KEY, 0)
    assert (await background).text
    assert fake_llm.chat_count == 1


async def test_players__background_work_stops_waiting_after_the_limit(fake_llm, monkeypatch):
    monkeypatch.setattr(gate_module, "PLAYER_POLL_INTERVAL", 0.02)
    monkeypatch.setattr(gate_module, "PLAYER_WAIT_LIMIT", 0.1)
    cache.set(PLAYERS_KEY, 3)  # stuck, e.g. a crashed process (the TTL will clear it)

    finished = await acomplete(HELLO, priority=PRIORITY_BACKGROUND)

    assert finished.text


async def test_players__cache_errors_never_fail_a_turn(fake_llm, monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionError("redis is down")

    for method in ("add", "incr", "decr", "get", "set", "touch"):
        monkeypatch.setattr(cache, method, broken)

    player = await acomplete(HELLO, priority=PRIORITY_PLAYER)
    background = await acomplete(HELLO, priority=PRIORITY_BACKGROUND)

    assert player.text and background.text


def test_players__the_count_never_goes_below_zero():
    gate_module._cache_decr()
    gate_module._cache_incr()
    gate_module._cache_decr()
    gate_module._cache_decr()

    assert players_active() == 0
