"""The SQLite database thread: one thread for every call, taken by priority, never dropped."""
import asyncio
import threading

import pytest

from gameplay.aio import BACKGROUND, NORMAL, URGENT, db_async


async def test_calls_queued_behind_a_busy_thread_are_taken_urgent_first_then_in_order():
    release, order = threading.Event(), []

    def busy():
        release.wait(5)
        order.append("busy")

    def note(name):
        order.append(name)
        return threading.current_thread().name

    first = asyncio.ensure_future(db_async(busy)())
    await asyncio.sleep(0.05)  # the thread is now inside `busy`
    queued = [asyncio.ensure_future(db_async(note, priority=p)(name)) for p, name in
              ((BACKGROUND, "embedding"), (NORMAL, "reply stored"), (URGENT, "look"), (NORMAL, "say prepared"))]
    await asyncio.sleep(0.05)
    release.set()
    threads = await asyncio.gather(*queued)
    await first
    assert order == ["busy", "look", "reply stored", "say prepared", "embedding"]
    assert set(threads) == {"tankard-database"}


async def test_a_call_whose_caller_is_cancelled_still_runs_and_errors_reach_the_caller():
    release, done = threading.Event(), threading.Event()
    blocker = asyncio.ensure_future(db_async(lambda: release.wait(5))())
    await asyncio.sleep(0.05)
    waiting = asyncio.ensure_future(db_async(done.set)())
    await asyncio.sleep(0.01)
    waiting.cancel()  # the player left while their reply was about to be stored
    release.set()
    await blocker
    assert await asyncio.to_thread(done.wait, 5)

    def broken():
        raise ValueError("no such game")

    with pytest.raises(ValueError, match="no such game"):
        await db_async(broken, priority=URGENT)()
