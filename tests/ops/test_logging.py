"""Structured logs (gameplay/logs.py): JSON lines, game and turn ids, redaction."""
from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from django.conf import settings

from gameplay.logs import ContextFilter, JsonFormatter, RedactFilter, log_context


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger wired as settings.LOGGING wires the console: context, redaction, JSON."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactFilter())
    logger = logging.getLogger("tests.ops.captured")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines__carry_game_and_turn_ids(captured):
    logger, stream = captured

    logger.info("outside")
    with log_context(game_id="7c0f6d1e", turn_id=12):
        logger.warning("inside %s", "the turn", extra={"npc": "gareth"})

    outside, inside = lines(stream)
    assert outside["game_id"] is None and outside["turn_id"] is None
    assert inside["game_id"] == "7c0f6d1e" and inside["turn_id"] == 12
    assert inside["message"] == "inside the turn"
    assert inside["level"] == "WARNING" and inside["logger"] == "tests.ops.captured"
    assert inside["npc"] == "gareth"
    assert inside["time"].endswith("+00:00")


def test_json_lines__include_the_exception(captured):
    logger, stream = captured

    try:
        raise ValueError("the keg is empty")
    except ValueError:
        logger.exception("pour failed")

    (line,) = lines(stream)
    assert "ValueError: the keg is empty" in line["exc_info"]


async def test_log_context__follows_tasks_and_threads(captured):
    logger, stream = captured

    async def log_in_a_task() -> None:
        logger.info("from a task")

    with log_context(game_id="g-async"):
        with log_context(turn_id=3):
            await asyncio.create_task(log_in_a_task())
            await asyncio.to_thread(logger.info, "from a thread")
        logger.info("after the turn")

    tasked, threaded, after = lines(stream)
    assert (tasked["game_id"], tasked["turn_id"]) == ("g-async", 3)
    assert (threaded["game_id"], threaded["turn_id"]) == ("g-async", 3)
    assert (after["game_id"], after["turn_id"]) == ("g-async", None)


def test_redaction__secret_keys_in_args_and_extra(captured):
    logger, stream = captured

    logger.info("calling with %s", {"api_key": "sk-live-0123456789", "model": "smollm2"})
    logger.info("headers", extra={"authorization": "Bearer abc", "headers": {"X-Api-Key": "k", "Accept": "json"}})
    logger.info("%(user)s logged in with %(password)s", {"user": "gareth", "password": "hunter2"})

    first, second, third = lines(stream)
    assert "sk-live" not in first["message"] and "[redacted]" in first["message"] and "smollm2" in first["message"]
    assert second["authorization"] == "[redacted]"
    assert second["headers"] == {"X-Api-Key": "[redacted]", "Accept": "json"}
    assert third["message"] == "gareth logged in with [redacted]"


def test_redaction__tokens_in_message_text(captured):
    logger, stream = captured

    logger.warning("backend said no to Bearer abcdef123456 (key sk-proj-abcdefghijkl)")

    (line,) = lines(stream)
    assert line["message"] == "backend said no to Bearer [redacted] (key [redacted])"


def test_redaction__whole_prompts_only_at_debug(captured):
    logger, stream = captured
    prompt = "You are Gareth, the barkeep. " * 20

    logger.info("asked the model", extra={"prompt": prompt, "tokens_in": 140})
    logger.debug("asked the model", extra={"prompt": prompt})

    info, debug = lines(stream)
    assert info["prompt"] == f"[{len(prompt)} chars]" and info["tokens_in"] == 140
    assert debug["prompt"] == prompt


def _log_from_a_fresh_process(log_format: str) -> str:
    code = (
        "import django, logging; django.setup();"
        "from gameplay.logs import log_context\n"
        "with log_context(game_id='g-42', turn_id=7):\n"
        "    logging.getLogger('gameplay.play').info('turn played', extra={'api_key': 'sk-secret-value'})\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tankard_site.settings", "TANKARD_LOG_FORMAT": log_format}
    done = subprocess.run([sys.executable, "-c", code], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stderr


def test_settings__json_format_logs_one_object_a_line():
    (line,) = [json.loads(text) for text in _log_from_a_fresh_process("json").splitlines()]

    assert line["message"] == "turn played"
    assert (line["game_id"], line["turn_id"]) == ("g-42", 7)
    assert line["api_key"] == "[redacted]"


def test_settings__plain_format_by_default():
    output = _log_from_a_fresh_process("")

    assert "INFO gameplay.play [game_id=g-42 turn_id=7] turn played" in output
    assert not output.lstrip().startswith("{")
