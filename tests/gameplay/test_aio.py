"""The SQLite database thread: one thread for every call, taken by priority, never dropped."""
import asyncio
import threading

import pytest

from gameplay.aio import BACKGROUND, NORMAL, URGENT, auncancelled, db_async

pytestmark = pytest.mark.django_db  # the thread closes old connections around each call, as Channels does


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


async def test_the_thread_outlives_a_call_that_leaves_its_connection_broken(monkeypatch):
    """Closing connections after a call may fail (here: as if the database went away); the next call
    still runs: every later call of the process waits on this one thread."""
    from gameplay import aio

    calls = []

    def failing_close():
        calls.append(1)
        if len(calls) == 2:  # the close after the first call
            raise RuntimeError("connection lost")

    monkeypatch.setattr(aio, "close_old_connections", failing_close)
    assert await db_async(lambda: "first")() == "first"
    assert await asyncio.wait_for(db_async(lambda: "second")(), 5) == "second"


async def test_auncancelled__finishes_what_was_begun_then_passes_the_cancellation_on():
    steps: list[str] = []

    async def conclusion() -> str:
        steps.append("begun")
        await asyncio.sleep(0.05)
        steps.append("finished")
        return "done"

    async def turn() -> str:
        return await auncancelled(conclusion())

    task = asyncio.ensure_future(turn())
    await asyncio.sleep(0.01)
    task.cancel()
    await asyncio.sleep(0)
    task.cancel()  # twice: a second cancellation is not delivered into the conclusion either
    with pytest.raises(asyncio.CancelledError):
        await task
    assert steps == ["begun", "finished"]
    assert await turn() == "done" and steps[-1] == "finished"
