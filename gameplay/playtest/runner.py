"""Playing a line file through the real game: each top-level element in a fresh game, over the real
ASGI application and its websocket (the consumer, the say path, memory, the rules, the reply checks
and the fallbacks, exactly as a player gets them), one line at a time. What comes back is a
transcript row per line (see docs/playtest.md); `playtest_write` turns the rows into
transcript.jsonl, report.json and report.md.

An NPC who is not where the player stands is met first (`services.game_meet`: the player is moved
to them, the clock set on when they are away), so every line is answered by its NPC."""
from __future__ import annotations

import asyncio
import datetime
import json
import logging
import os
import platform
import time
import urllib.request
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from django.conf import settings
from django.db import connection, connections

from .. import services
from ..aio import db_async
from .lines import Line

logger = logging.getLogger(__name__)
FINAL_TYPES = frozenset({"narration", "npc.end", "error"})
ORIGIN = b"http://localhost"
SETTLE_SECONDS = 0.05  # after a line's final frame, how long the frames that follow it (its state) are awaited
TOKENS_POLL_SECONDS, TOKENS_WAIT_SECONDS = 0.01, 0.5
# No per-game limit a player is held to applies to the playtest's games: a 25-turn conversation
# against a fast model would otherwise meet the turns-per-minute limit, and its answer is not a reply.
UNLIMITED = 10**9

Progress = Callable[[int, int, float], None]


# --- the run's surroundings -------------------------------------------------------------------------
def playtest_settings(*, cache: bool) -> dict[str, Any]:
    """The settings a playtest overrides: the reply cache on only when asked, no per-game limits."""
    return {"TANKARD_REPLY_CACHE": {**settings.TANKARD_REPLY_CACHE, "ENABLED": cache},
            "TANKARD_TURNS_PER_MINUTE": UNLIMITED, "TANKARD_LLM_TOKENS_PER_HOUR": UNLIMITED}


@contextmanager
def playtest_database(out: Path) -> Iterator[str]:
    """A throwaway database for the run, made as Django's test runner makes one, so nothing reaches
    the player's own: on SQLite the file `out/playtest.sqlite3` (kept after the run, to look into),
    on PostgreSQL a database `playtest_<pid>` dropped at the end. Yields its name."""
    creation = connection.creation
    test = connection.settings_dict.setdefault("TEST", {})
    sqlite = connection.vendor == "sqlite"
    test["NAME"] = str(out / "playtest.sqlite3") if sqlite else f"playtest_{os.getpid()}"
    if sqlite:  # an earlier run's file goes, with its write-ahead log (a stale log must not meet a new file)
        for leftover in ("playtest.sqlite3", "playtest.sqlite3-wal", "playtest.sqlite3-shm"):
            (out / leftover).unlink(missing_ok=True)
    if not sqlite:  # the pooled threads' connections close after each call, so the database can be dropped
        connection.settings_dict["CONN_MAX_AGE"] = 0
    old_name = creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        yield connection.settings_dict["NAME"]
    finally:
        connections.close_all()
        creation.destroy_test_db(old_name, verbosity=0, keepdb=sqlite)


@contextmanager
def playtest_model(model_url: str | None, *, say: Callable[[str], None]) -> Iterator[str]:
    """The model the run talks to, as `model_url` (or OPENAI_BASE_URL) names it; with neither, the
    embedded local model, started (and self-tested) as `manage.py run` does and stopped at the end.
    Yields a description: the model's name at its URL."""
    from llm.breaker import reset_breakers
    from llm.local_server import (LocalServerError, llm_base_url, llm_is_local, llm_model_name, probe_models,
                                  start_local_server, stop_local_server)

    saved = os.environ.get("OPENAI_BASE_URL")
    if model_url:
        os.environ["OPENAI_BASE_URL"] = model_url
    reset_breakers()
    started = False
    try:
        if llm_is_local():
            say("Starting the local model server (SmolLM2-135M)...")
            try:
                supervisor = start_local_server(wait=60)
                started = True
                _selftest(supervisor, say)
            except LocalServerError as exc:
                if not probe_models(llm_base_url()):
                    raise
                say(f"A model server already answers at {llm_base_url()}; using it. ({exc})")
        base = llm_base_url()
        yield f"{model_served(base) or llm_model_name()} at {base}"
    finally:
        if started:
            stop_local_server()
        if model_url:
            if saved is None:
                os.environ.pop("OPENAI_BASE_URL", None)
            else:
                os.environ["OPENAI_BASE_URL"] = saved
        reset_breakers()


def model_served(base_url: str) -> str:
    """The first model an OpenAI-compatible server lists at GET /models, or "" when it does not say."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"{base_url.rstrip('/')}/models", timeout=5) as response:
            return str(json.loads(response.read())["data"][0]["id"])
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return ""


def _selftest(supervisor, say: Callable[[str], None]) -> None:
    from llm.selftest import backend_selftest, selftest_advice

    result = backend_selftest(supervisor=supervisor)
    say(f"The local model answers ({result.seconds:.1f} s for a short reply)." if result.ok
        else selftest_advice(result.problem, local=True))


# --- playing ---------------------------------------------------------------------------------------
def _game_with_cookie() -> tuple[str, str]:
    """A fresh game tied to a fresh session, as the page makes one: (game id, Cookie header)."""
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session.create()
    game = services.game_create(session_key=session.session_key)
    session["game_id"] = str(game.id)
    session.save()
    return str(game.id), f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


class _Socket:
    """A player's websocket to the real application, read without ever timing out the application
    (a communicator's receive timeout cancels it)."""

    def __init__(self, cookie: str) -> None:
        from channels.testing import WebsocketCommunicator
        from django.conf import settings
        from django.utils.module_loading import import_string

        application = import_string(settings.ASGI_APPLICATION)  # the project's own routing, as daphne serves it
        self.comm = WebsocketCommunicator(application, "/ws/play/", headers=[(b"origin", ORIGIN), (b"cookie", cookie.encode())])

    async def aopen(self) -> None:
        connected, _ = await self.comm.connect()
        if not connected:
            raise RuntimeError("the game's socket refused the connection")
        await self.areceive(10)  # state
        await self.areceive(10)  # history

    async def areceive(self, timeout: float) -> dict:
        return await self.comm.receive_json_from(timeout=timeout)

    async def asettle(self) -> list[dict]:
        frames = []
        while not await self.comm.receive_nothing(timeout=SETTLE_SECONDS):
            frames.append(await self.comm.receive_json_from())
        return frames

    async def aclose(self) -> None:
        await self.comm.disconnect()


def _turn_timeout() -> float:
    """How long a line may go unanswered before the run gives up on its conversation: well past
    every timeout of the game's own (a fallback comes long before)."""
    return float(settings.TANKARD_LLM["TOTAL_TIMEOUT"]) * 2 + 60


async def _aplay_line(socket: _Socket, game_id: str, line: Line) -> dict:
    from llm.metrics import tokens_out_count

    state = await db_async(services.game_state_frame)(game_id=game_id)
    met = False
    if line.npc not in {n["slug"] for n in state["npcs"]}:
        met = await db_async(services.game_meet)(game_id=game_id, npc=line.npc)
        state = await db_async(services.game_state_frame)(game_id=game_id)
    tokens_before = tokens_out_count(npc=line.npc)
    cid = f"pt-{uuid.uuid4().hex[:12]}"
    started = time.monotonic()
    await socket.comm.send_json_to({"type": "say", "id": cid, "npc": line.npc, "text": line.text})
    frames, ttft, final = [], None, None
    while final is None:
        frame = await socket.areceive(_turn_timeout())
        frames.append(frame)
        mine = frame.get("reply_to") == cid
        if mine and frame["type"] == "npc.token" and frame.get("text", "").strip() and ttft is None:
            ttft = (time.monotonic() - started) * 1000
        if mine and frame["type"] in FINAL_TYPES:
            final = frame
    seconds = time.monotonic() - started
    frames += await socket.asettle()
    after = await db_async(services.game_state_frame)(game_id=game_id)
    tokens = await _atokens_counted(line.npc, tokens_before, written=final.get("source") == "llm")
    row = _row(line, cid, frames, final, ttft_ms=ttft, seconds=seconds, gold_before=state["player"]["gold"],
               gold_after=after["player"]["gold"], tokens=tokens)
    row["met"] = met  # the NPC was not where the player stood: the player was taken to them first
    row["inventory_before"], row["inventory_after"] = _pack(state), _pack(after)
    return row


async def _atokens_counted(npc: str, before: int, *, written: bool) -> int:
    """The completion tokens the game counted for this reply. It counts them once the exchange is
    stored and remembered, just after the final frame: the state read that follows the reply waits
    for that storing, so a moment more is enough; a reply the model wrote is waited for a little
    longer (its count must move), so that none is left to swell the next line's."""
    from llm.metrics import tokens_out_count

    waited = 0.0
    while True:
        await asyncio.sleep(TOKENS_POLL_SECONDS)
        waited += TOKENS_POLL_SECONDS
        counted = tokens_out_count(npc=npc) - before
        if counted > 0 or not written or waited >= TOKENS_WAIT_SECONDS:
            return counted


def _pack(state: dict) -> dict[str, int]:
    """The player's goods in a state frame: item slug -> how many."""
    return {item["slug"]: item["qty"] for item in state.get("inventory", ())}


def _row(line: Line, cid: str, frames: list[dict], final: dict, *, ttft_ms: float | None, seconds: float,
         gold_before: int, gold_after: int, tokens: int) -> dict:
    ends = [f.get("text", "") for f in frames if f["type"] == "npc.end" and f.get("reply_to") == cid]
    reply = " ".join(t for t in ends if t) if ends else final.get("text", "")
    row = {**line.as_turn(), "reply": reply, "source": final.get("source") if final["type"] == "npc.end" else None,
           "ttft_ms": round(ttft_ms, 1) if ttft_ms is not None else None, "seconds": round(seconds, 3),
           "tokens": tokens if tokens > 0 else len(reply.split()), "gold_before": gold_before, "gold_after": gold_after,
           "frames": [f["type"] for f in frames]}
    if final["type"] != "npc.end":
        row["error"] = final.get("code") or final["type"]
    return row


def _unanswered(line: Line, why: str) -> dict:
    return {**line.as_turn(), "reply": "", "source": None, "ttft_ms": None, "seconds": None, "tokens": 0,
            "gold_before": None, "gold_after": None, "frames": [], "error": why, "met": False,
            "inventory_before": None, "inventory_after": None}


async def _aplay_conversation(conversation: list[Line], on_row: Callable[[dict], None]) -> None:
    game_id, cookie = await db_async(_game_with_cookie)()
    socket = _Socket(cookie)
    await socket.aopen()
    try:
        for index, line in enumerate(conversation):
            try:
                on_row(await _aplay_line(socket, game_id, line))
            except asyncio.TimeoutError:  # the application is cancelled with it: the rest is not played
                logger.error("line %s got no final frame; the rest of its conversation is not played", line.id)
                for rest in conversation[index:]:
                    on_row(_unanswered(rest, "timeout"))
                return
    finally:
        try:
            await socket.aclose()
        except Exception:  # an application already cancelled by a timeout
            pass


async def aplaytest_play(conversations: list[list[Line]], *, progress: Progress | None = None,
                         transcript: Path | None = None) -> list[dict]:
    """Play every conversation, each in a fresh game, in order; a transcript row per line, also
    written to `transcript` as it comes (a run stopped halfway keeps what it played)."""
    rows: list[dict] = []
    total, started = sum(len(c) for c in conversations), time.monotonic()
    if transcript is not None:
        transcript.write_text("", encoding="utf-8")

    def on_row(row: dict) -> None:
        rows.append(row)
        if transcript is not None:
            with open(transcript, "a", encoding="utf-8") as f:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        if progress is not None:
            progress(len(rows), total, time.monotonic() - started)

    for conversation in conversations:
        await _aplay_conversation(conversation, on_row)
    return rows


def progress_printer(write: Callable[[str], None], *, tty: bool) -> Progress:
    """Progress through `write`: line n/N, the time so far and the time left at this pace (on one
    line rewritten in place on a terminal, a line each otherwise)."""

    def show(done: int, total: int, elapsed: float) -> None:
        eta = elapsed / done * (total - done) if done else 0.0
        text = f"line {done}/{total}  elapsed {_clock(elapsed)}  ETA {_clock(eta)}"
        write(f"\r{text}   " + ("\n" if done == total else "") if tty else text + "\n")

    return show


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}:{secs:02d}"


# --- what a run leaves ------------------------------------------------------------------------------
def playtest_write(out: Path, rows: list[dict], card: dict, *, lines: str, model: str, cache: bool, command: str,
                   seconds: float, judge: dict | None = None) -> dict:
    """transcript.jsonl, report.json and report.md in `out` for the rows played and their scorecard
    `card` (made while the run's world is at hand); returns the report."""
    from .scorecard import report_markdown

    out.mkdir(parents=True, exist_ok=True)
    with open(out / "transcript.jsonl", "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    report = {"lines": lines, "model": model, "cache": cache, "date": datetime.date.today().isoformat(),
              "machine": os.environ.get("TANKARD_BENCH_MACHINE") or f"{os.cpu_count()} cores, {platform.machine()}", "command": command,
              "load": _loadavg(), "seconds": round(seconds, 1), "scorecard": card}
    if judge is not None:
        report["judge"] = judge
    (out / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "report.md").write_text(report_header(report) + report_markdown(card) + judge_markdown(judge), encoding="utf-8")
    return report


def report_header(report: dict) -> str:
    return (f"# Playtest of {report['lines']}\n\n"
            f"Model: {report['model']}; reply cache {'on' if report['cache'] else 'off'}; {report['date']}, "
            f"{report['machine']}, load {report['load']}; {report['seconds']} s.\n"
            f"Command: `{report['command']}`\n\n")


def judge_markdown(judge: dict | None) -> str:
    if judge is None:
        return ""
    if judge.get("value") is None:
        return f"\n## Judge\n\nNot scored: {judge.get('skipped', 'no answer')}.\n"
    return (f"\n## Judge (apart from the figures above)\n\n{judge['model']}: stay-in-character {judge['value']:.1f} / 10 "
            f"over {judge['n']} replies.\n")


DOC_START = "<!-- playtest:table:start (manage.py playtest --write-doc writes this table) -->"
DOC_END = "<!-- playtest:table:end -->"


def doc_table_write(doc: Path, report: dict) -> None:
    """Replace the figures table between the markers of `doc` (docs/playtest.md) with this run's."""
    from .replay import target_met
    from .scorecard import FIGURES

    text = doc.read_text(encoding="utf-8")
    if DOC_START not in text or DOC_END not in text:
        raise ValueError(f"{doc} has no playtest table markers")
    overall = report["scorecard"]["overall"]
    rows = ["| figure | value | n | target | met |", "| --- | --- | --- | --- | --- |"]
    for spec in FIGURES:
        held = overall.get(spec.key) or {}
        value = held.get("value")
        met = None if value is None else target_met(spec.target, 100 * value if spec.unit == "rate" else value, better=spec.better)
        rows.append(f"| {spec.label} | {_figure_shown(spec.unit, value)} | {held.get('n', 0)} | {spec.target} | "
                    f"{'' if met is None else 'yes' if met else '**no**'} |")
    rows += ["", f"{report['model']}, reply cache {'on' if report['cache'] else 'off'}; {report['date']}, {report['machine']}, "
                 f"load {report['load']}; {report['seconds']:.0f} s for the set. Command: `{report['command']}`"]
    head, rest = text.split(DOC_START, 1)
    tail = rest.split(DOC_END, 1)[1]
    doc.write_text(head + DOC_START + "\n" + "\n".join(rows) + "\n" + DOC_END + tail, encoding="utf-8")


def _figure_shown(unit: str, value: float | None) -> str:
    if value is None:
        return "–"
    if unit == "rate":
        return f"{100 * value:.1f} %"
    return f"{value:.0f} ms" if unit == "ms" else f"{value:.1f}"


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())


def transcript_read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
