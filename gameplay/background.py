"""The embedded mode's background worker: runs the Celery beat schedule's tasks in a daemon thread
of the game process, so no broker, worker or beat process is needed. Production runs Celery worker
and beat instead, with the same schedule (settings.CELERY_BEAT_SCHEDULE).

`embed_soon` is the reply path's one piece of background work: the embeddings of an exchange just
remembered, computed after the player has the reply."""
from __future__ import annotations

import asyncio
import gc
import logging
import threading
import time
from contextlib import contextmanager
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django import db
from django.conf import settings
from django.db import close_old_connections

from llm import embeddings
from memory import tasks as memory_tasks
from memory.services import memory_embeddings_store, memory_pending_texts

from .aio import BACKGROUND, db_async
from .metrics import job_observed

logger = logging.getLogger(__name__)
_started = threading.Event()


def _seconds(schedule) -> float:
    if isinstance(schedule, (int, float)):
        return float(schedule)
    if isinstance(schedule, timedelta):
        return schedule.total_seconds()
    return float(getattr(schedule, "run_every", timedelta(minutes=5)).total_seconds())


def _loop() -> None:
    from django.conf import settings

    from celery import current_app as app

    entries = [(name, entry["task"], _seconds(entry["schedule"])) for name, entry in settings.CELERY_BEAT_SCHEDULE.items()]
    last = {name: time.monotonic() for name, _, _ in entries}
    while True:
        for name, task_name, every in entries:
            if time.monotonic() - last[name] < every:
                continue
            last[name] = time.monotonic()
            try:
                result = app.tasks[task_name].apply()
                job_observed(name=name, ok=result.successful())
            except Exception:
                job_observed(name=name, ok=False)
                logger.exception("background job %s failed", name)
            finally:
                close_old_connections()
        time.sleep(1.0)


def warm_up_start() -> None:
    """Load the embedding model, the tokenizer and the reply cache's question index in the
    background, once per process, as the ASGI application starts (however it is served: `run`, or
    daphne directly in production), so that the first players do not wait a second for them, and a
    process under load does not stall on them."""
    if _warming.is_set():
        return
    _warming.set()
    threading.Thread(target=_warm_up, name="tankard-warm-up", daemon=True).start()


def _warm_up() -> None:
    try:
        from llm.prompts import warm_tokenizer
        from llm.reply_cache import index_warm

        embeddings.embed_one("Good evening.")
        warm_tokenizer()
        index_warm()
    except Exception:
        logger.warning("warm-up failed; the first replies may be slower", exc_info=True)
    asked_warm_all()
    _long_lived_frozen()


def asked_warm_all() -> None:
    """Every NPC's asked phrasings embedded (as the reply cache reads them, `gameplay.voice`), at the
    process's start rather than on a player's first line to each NPC."""
    from llm.reply_cache import asked_warm

    from .world import world_aliases, world_asked, world_current

    try:
        world = world_current()
        for npc in world.npcs.values():
            asked_warm(aliases=world_aliases(world, npc.slug), asked=world_asked(world, npc.slug))
    except Exception:  # no world yet (before migrate, loadworld): made on the first line to each NPC
        logger.info("asked questions not embedded ahead", exc_info=True)
    finally:
        db.connection.close()


def _long_lived_frozen() -> None:
    """Keep what the process loaded at start (Django, the models' vocabularies, the world) out of
    the garbage collector's full collections. Left in, each full collection walked them all and
    stopped every player of the process for 90-160 ms, whenever it fell: ten replies starting
    together met one and other players' `look` waited 200 ms (docs/benchmarks.md, "LLM: other
    players while replies stream"). Collected first, so no garbage is kept for good."""
    gc.collect()
    gc.freeze()


_warming = threading.Event()


def background_start() -> None:
    """Start the embedded background worker once per process."""
    if _started.is_set():
        return
    _started.set()
    threading.Thread(target=_loop, name="tankard-background", daemon=True).start()


# The embeddings of ended replies, in this process (embedded mode): one drainer per event loop
# collects the (game, NPC) pairs with new memories, waits a moment so that a burst of replies
# ending together is over, then reads, embeds and stores them a few texts at a time on one thread
# (never more than one core, and the event loop gets the interpreter back between batches). Before
# each batch it waits for a moment when no player's line is being answered in this process (for
# at most EMBED_YIELD_SECONDS): a batch running beside a reply slowed the reply by a third
# (docs/benchmarks.md, "Reply cache"); within a batch it stops after the text in hand when a line
# comes (`_embedded_while_quiet`).
EMBED_AFTER_SECONDS = 0.25
EMBED_TEXTS_AT_ONCE = 4
EMBED_YIELD_SECONDS = 2.0
EMBED_QUIET_POLL_SECONDS = 0.02
_answering = 0  # players' lines being answered by this process's event loop


@contextmanager
def answering():
    """Mark a player's line as being answered (background embedding waits for none to be)."""
    global _answering
    _answering += 1
    try:
        yield
    finally:
        _answering -= 1


async def _aquiet() -> None:
    loop = asyncio.get_running_loop()
    give_up = loop.time() + EMBED_YIELD_SECONDS
    while _answering and loop.time() < give_up:
        await asyncio.sleep(EMBED_QUIET_POLL_SECONDS)


_embedder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tankard-embed")
_due: set[tuple[str, str]] = set()
_drainer: asyncio.Task | None = None
_publishing: set[asyncio.Task] = set()


def embed_soon(*, game_id: str, npc_slug: str) -> None:
    """Have the (game, NPC)'s new memories embedded in the background: by a Celery worker when
    tasks go to one, else in this process (see above). Returns at once; if it never happens (a
    process stopped, the broker is down), retrieval embeds what it needs and the periodic
    `memory.tasks.embed_due` the rest."""
    global _drainer
    loop = asyncio.get_running_loop()
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        task = loop.create_task(_apublish(game_id, npc_slug))
        _publishing.add(task)
        task.add_done_callback(_publishing.discard)
        return
    _due.add((game_id, npc_slug))
    if _drainer is None or _drainer.done() or _drainer.get_loop() is not loop:
        _drainer = loop.create_task(_adrain())


async def _apublish(game_id: str, npc_slug: str) -> None:
    try:  # retry=False: a broker outage costs nothing here
        await asyncio.to_thread(memory_tasks.embed_pending.apply_async, kwargs={"game_id": game_id, "npc_slug": npc_slug},
                                retry=False)
    except Exception:
        logger.warning("new memories of %s in game %s not queued for embedding; retrieval or the periodic job will",
                       npc_slug, game_id, exc_info=True)


async def _adrain() -> None:
    await asyncio.sleep(EMBED_AFTER_SECONDS)
    loop = asyncio.get_running_loop()
    while _due:
        pairs = list(_due)
        _due.clear()
        try:
            while True:
                await _aquiet()
                pending = await db_async(memory_pending_texts, priority=BACKGROUND)(pairs=pairs, limit=EMBED_TEXTS_AT_ONCE)
                vectors = []
                if pending:
                    vectors = await loop.run_in_executor(_embedder, _embedded_while_quiet, [p.text for p in pending])
                    await db_async(memory_embeddings_store, priority=BACKGROUND)(pending=pending[:len(vectors)], vectors=vectors)
                if len(pending) < EMBED_TEXTS_AT_ONCE and len(vectors) == len(pending):
                    break
        except Exception:
            logger.warning("new memories not embedded yet; retrieval or the periodic job will", exc_info=True)


def _embedded_while_quiet(texts: list[str]) -> list:
    """The texts' vectors, a text at a time, stopping after any one of them when a player's line has
    come to be answered meanwhile: that line's own embedding (the same model, one pass at a time)
    then waits for one text, not for the rest of a batch (about one cached reply in twenty met a
    batch in the reply cache's bench). The first text is always embedded, so the work moves on."""
    vectors = []
    for text in texts:
        if vectors and _answering:
            break
        vectors.append(embeddings.embed([text])[0])
    return vectors


async def aembedding_settled() -> None:
    """Wait for this process's background embeddings (tests, and a clean shutdown)."""
    while (_drainer is not None and not _drainer.done()) or _publishing:
        await asyncio.gather(*[t for t in (_drainer, *_publishing) if t is not None], return_exceptions=True)
