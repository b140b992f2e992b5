"""The decode loop: requests admitted to slots, and one `llama_decode` per step for all of them.

A single thread owns the model. Each step it admits waiting requests to free slots (players first;
a background request never takes the last free slot while a player's request is running or
waiting), then decodes one batch holding the prompt tokens of newly admitted requests (first,
in chunks, so a newcomer's first token does not wait behind long replies) and one new token for
every reply in progress, then samples each sequence's next token with its own sampler chain.
A slot keeps the tokens it last held. A request goes to a free slot whose tokens its prompt
continues (the same conversation, one turn on), else to the free slot used least long ago; when any
slot (busy or not) holds a longer start of its prompt (the same NPC's persona, the same
conversation), those cells are copied over instead of decoded again, and a request whose start is
being decoded right now in another slot waits the one step for it.
"""
from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from llm.model_server.model import LoadedModel, ModelError, Sampler, SamplingParams
from llm.model_server.text import ReplyText

logger = logging.getLogger(__name__)

IDLE_WAIT = 0.5  # seconds the loop sleeps on an empty queue before looking again
COPY_WORTH = 32  # prompt tokens another slot must hold beyond a slot's own for copying its cells (or waiting a step for them)


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Done:
    finish_reason: str  # "stop" or "length"
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class Failed:
    message: str


Event = Text | Done | Failed


@dataclass(eq=False)
class Job:
    """One chat completion: its prompt tokens, how to sample, where its events go."""

    prompt: list[int]
    sampling: SamplingParams
    max_tokens: int
    stop: tuple[str, ...]
    emit: Callable[[Event], None]  # called from the engine thread; must not block
    background: bool = False
    cancelled: bool = False  # set by the HTTP side when the client goes away
    arrived: float = field(default_factory=time.monotonic)
    order: int = 0

    def cancel(self) -> None:
        self.cancelled = True


@dataclass(eq=False)
class Slot:
    seq: int
    cached: list[int] = field(default_factory=list)  # tokens whose cells sequence `seq` holds
    job: Job | None = None
    pending: list[int] = field(default_factory=list)  # prompt tokens still to decode
    sampler: Sampler | None = None
    reply: ReplyText | None = None
    next_token: int | None = None  # sampled, sent, to be decoded in the next step
    generated: int = 0
    freed: int = 0  # when its last request ended (the engine's count of ended requests): least recent goes first


def common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


class Engine:
    """Owns the model and its thread; `submit` is safe from any thread."""

    def __init__(self, load: Callable[[], LoadedModel]) -> None:
        self._load = load
        self.model: LoadedModel | None = None  # loaded by `start`, on the engine's thread
        self.slots: list[Slot] = []
        self._loaded = threading.Event()
        self._load_error: BaseException | None = None
        self._inbox: queue.SimpleQueue[Job] = queue.SimpleQueue()
        self._waiting: list[Job] = []
        self._order = itertools.count()
        self._ended = itertools.count(1)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="model-engine", daemon=True)
        self.generated_tokens = 0  # since start, over every request: for benchmarks and health
        self.prefix_copies = 0  # prompt starts copied from another slot rather than decoded again
        self.requests = {"player": 0, "background": 0}  # submitted since start

    def start(self) -> None:
        """Load the model on the engine's own thread, and return once it is loaded (raising what the
        load raised). Every llama.cpp call that computes runs on that one thread: llama.cpp's OpenMP
        threads belong to the thread that first computes (loading the weights already does), and a
        second thread computing makes a second team; with two teams on two cores the workers stop
        spinning at each of a step's barriers and sleep instead, and a one-token step took 45 ms
        instead of 6.6 (measured; docs/benchmarks.md, "llm_concurrency")."""
        self._thread.start()
        self._loaded.wait()
        if self._load_error is not None:
            raise self._load_error

    def stop(self) -> None:
        self._stopping.set()
        self._inbox.put(None)  # type: ignore[arg-type]  # wakes the loop
        self._thread.join(timeout=10)

    def submit(self, job: Job) -> None:
        job.order = next(self._order)
        self.requests["background" if job.background else "player"] += 1
        self._inbox.put(job)

    def stats(self) -> dict[str, int]:
        """Slots, slots in use, requests waiting, tokens generated so far (read from another thread:
        a hint, not exact)."""
        return {"slots": len(self.slots), "busy": sum(s.job is not None for s in self.slots),
                "waiting": len(self._waiting), "generated_tokens": self.generated_tokens,
                "prefix_copies": self.prefix_copies, "player_requests": self.requests["player"],
                "background_requests": self.requests["background"]}

    # --- the loop ---------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self.model = self._load()
            self.slots = [Slot(seq) for seq in range(self.model.slots)]
        except BaseException as error:  # noqa: BLE001 - handed to `start`, which raises it
            self._load_error = error
            return
        finally:
            self._loaded.set()
        while not self._stopping.is_set():
            try:
                self._collect(block=not self._has_work())
                self._drop_cancelled()
                self._admit()
                if any(s.job is not None for s in self.slots):
                    self._step()
            except Exception:  # a bug must fail the requests in hand, not leave every later one waiting
                logger.exception("The decode loop failed; the requests in progress are ended.")
                self._reset("the model could not continue")

    def _has_work(self) -> bool:
        return bool(self._waiting) or any(s.job is not None for s in self.slots)

    def _collect(self, *, block: bool) -> None:
        try:
            job = self._inbox.get(timeout=IDLE_WAIT) if block else self._inbox.get_nowait()
            while True:
                if job is not None:
                    self._waiting.append(job)
                job = self._inbox.get_nowait()
        except queue.Empty:
            pass

    def _drop_cancelled(self) -> None:
        self._waiting = [job for job in self._waiting if not job.cancelled]
        for slot in self.slots:
            if slot.job is not None and slot.job.cancelled:
                self._free(slot)

    def _admit(self) -> None:
        self._waiting.sort(key=lambda job: (job.background, job.order))
        while self._waiting:
            free = [s for s in self.slots if s.job is None]
            job = self._waiting[0]
            if not free or (job.background and len(free) == 1 and self._players_active()):
                return
            held = {s.seq: common_prefix(s.cached, job.prompt) for s in self.slots}  # each slot's start of the prompt
            donor = max(self.slots, key=lambda s: held[s.seq])
            shared = held[donor.seq]
            if self._prefilling_longer(job, shared):
                return  # the start of its prompt is being decoded in another slot: take it from there next step
            self._waiting.pop(0)
            slot = self._slot_for(free, held)
            start = held[slot.seq]
            if shared >= start + COPY_WORTH and donor is not slot:
                self.model.copy(donor.seq, slot.seq, upto=shared)
                slot.cached = donor.cached[:shared]
                self.prefix_copies += 1
                start = shared
            self._assign(slot, job, held=start)

    @staticmethod
    def _slot_for(free: list[Slot], held: dict[int, int]) -> Slot:
        """A free slot whose tokens the prompt continues (`held`: how much of the prompt each slot
        holds; all of a slot's tokens: nothing it holds is lost), else the one whose last request
        ended longest ago."""
        continued = [s for s in free if s.cached and held[s.seq] == len(s.cached)]
        if continued:
            return max(continued, key=lambda s: len(s.cached))
        return min(free, key=lambda s: s.freed)

    def _prefilling_longer(self, job: Job, shared: int) -> bool:
        return any(s.job is not None and s.pending and common_prefix(s.cached + s.pending, job.prompt) >= shared + COPY_WORTH
                   for s in self.slots)

    def _players_active(self) -> bool:
        return any(s.job is not None and not s.job.background for s in self.slots) or any(
            not job.background for job in self._waiting)

    def _assign(self, slot: Slot, job: Job, *, held: int) -> None:
        """Start `job` in `slot`, which holds the prompt's first `held` tokens already."""
        keep = min(held, len(job.prompt) - 1)  # the last one gives logits
        logger.debug("slot %d: a %s request of %d prompt tokens, %d already held, %.0f ms after it came",
                     slot.seq, "background" if job.background else "player", len(job.prompt), keep,
                     1000 * (time.monotonic() - job.arrived))
        self.model.forget(slot.seq, keep=keep)
        slot.cached = job.prompt[:keep]
        slot.pending = job.prompt[keep:]
        slot.job, slot.generated, slot.next_token = job, 0, None
        slot.sampler = Sampler(job.sampling, fallback_seed=time.monotonic_ns())
        slot.reply = ReplyText(job.stop)

    def _step(self) -> None:
        rows, owners = self._batch()
        try:
            self.model.decode(rows)
        except ModelError as error:
            logger.error("Decoding failed: %s", error)
            self._reset("the model could not continue")
            return
        for row, slot in owners.items():
            self._sampled(slot, slot.sampler.sample(self.model.context, row))

    def _reset(self, message: str) -> None:
        """End every request in a slot with `message`; what the cache holds is unknown now: empty it."""
        for slot in self.slots:
            self.model.forget(slot.seq)
            slot.cached = []
            if slot.job is not None:
                self._finish(slot, Failed(message))

    def _batch(self) -> tuple[list[tuple[int, int, int, bool]], dict[int, Slot]]:
        """Rows of this step's decode, and which slot samples from which row's logits."""
        generating = [s for s in self.slots if s.job is not None and s.next_token is not None]
        prefilling = sorted((s for s in self.slots if s.job is not None and s.pending),
                            key=lambda s: (s.job.background, s.job.order))
        rows: list[tuple[int, int, int, bool]] = []
        owners: dict[int, Slot] = {}
        room = self.model.batch_size - len(generating)
        for slot in prefilling:  # newcomers' prompts first: their first token is what a player waits for
            if room <= 0:
                break
            chunk, slot.pending = slot.pending[:room], slot.pending[room:]
            start = len(slot.cached)
            for i, token in enumerate(chunk):
                rows.append((token, start + i, slot.seq, False))
            slot.cached.extend(chunk)
            room -= len(chunk)
            if not slot.pending:
                rows[-1] = rows[-1][:3] + (True,)
                owners[len(rows) - 1] = slot
        for slot in generating:
            rows.append((slot.next_token, len(slot.cached), slot.seq, True))
            slot.cached.append(slot.next_token)
            owners[len(rows) - 1] = slot
        return rows, owners

    def _sampled(self, slot: Slot, token: int) -> None:
        job, reply = slot.job, slot.reply
        if self.model.is_end(token):
            return self._finish(slot, self._done(slot, "stop"), tail=reply.flush())
        slot.generated += 1
        self.generated_tokens += 1
        text = reply.add(self.model.piece(token))
        if reply.stopped:
            return self._finish(slot, self._done(slot, "stop"), tail=text)
        if slot.generated >= job.max_tokens or len(slot.cached) + 1 >= self.model.context_window:
            return self._finish(slot, self._done(slot, "length"), tail=text + reply.flush())
        if text:
            if slot.generated == 1:
                logger.debug("slot %d: first token %.0f ms after the request came", slot.seq, 1000 * (time.monotonic() - job.arrived))
            job.emit(Text(text))
        slot.next_token = token

    def _done(self, slot: Slot, reason: str) -> Done:
        return Done(reason, prompt_tokens=len(slot.job.prompt), completion_tokens=slot.generated)

    def _finish(self, slot: Slot, event: Event, *, tail: str = "") -> None:
        if tail:
            slot.job.emit(Text(tail))
        slot.job.emit(event)
        self._free(slot)

    def _free(self, slot: Slot) -> None:
        if slot.sampler is not None:
            slot.sampler.free()
        slot.job, slot.sampler, slot.reply, slot.next_token, slot.pending = None, None, None, None, []
        slot.freed = next(self._ended)
