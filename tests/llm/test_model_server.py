"""The embedded model server (`llm.model_server`) on the real model: several replies at once, each
whole with its own sampling, background requests capped and kept off the last
free slot, stop strings, and bad requests answered with 400. Prompts are tiny, so this is quick."""
from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx2
import pytest

from llm.gate import gate_limits
from llm.local_server import LocalModelSupervisor
from llm.model_server.text import ReplyText
from tests.llm.local_model import free_port, require_llama_cpp

SLOTS = 2
BACKGROUND_CAP = 6


def ask(user: str, **fields) -> dict:
    return {"messages": [{"role": "system", "content": "You are Gareth, a barkeep in a tavern."},
                         {"role": "user", "content": user}], "max_tokens": 16, "temperature": 0.8, **fields}


@dataclass
class Streamed:
    text: str = ""
    finish_reason: str | None = None
    usage: dict | None = None
    done: bool = False  # the closing [DONE] arrived
    first_token_at: float | None = None
    finished_at: float | None = None
    chunks: list[dict] = field(default_factory=list)


@pytest.fixture(scope="module")
def server() -> str:
    """The model server as the game runs it (supervised), with SLOTS slots; its base URL."""
    require_llama_cpp()
    supervisor = LocalModelSupervisor(port=free_port(), threads=2, context_window=512, slots=SLOTS,
                                      restart_backoff=(0.2,))
    supervisor.background_max_tokens = BACKGROUND_CAP
    supervisor.start()
    try:
        assert supervisor.wait_ready(120), "the model server did not become ready"
        yield supervisor.base_url
    finally:
        supervisor.stop()


def stream(base_url: str, body: dict, headers: dict | None = None) -> Streamed:
    result = Streamed()
    body = {**body, "stream": True, "stream_options": {"include_usage": True}}
    with httpx2.Client(timeout=60) as client, client.stream(
            "POST", f"{base_url}/chat/completions", json=body, headers=headers or {}) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line == "data: [DONE]":
                result.done = True
            elif line.startswith("data: "):
                chunk = json.loads(line[6:])
                result.chunks.append(chunk)
                if chunk.get("usage"):
                    result.usage = chunk["usage"]
                for choice in chunk.get("choices", []):
                    if choice["delta"].get("content"):
                        result.text += choice["delta"]["content"]
                        result.first_token_at = result.first_token_at or time.monotonic()
                    if choice["finish_reason"]:
                        result.finish_reason = choice["finish_reason"]
                        result.finished_at = time.monotonic()
    return result


def in_parallel(calls) -> list:
    with ThreadPoolExecutor(len(calls)) as pool:
        return [future.result() for future in [pool.submit(call) for call in calls]]


@pytest.mark.localmodel
def test_concurrent_streams__all_complete_and_none_is_cut(server):
    lines = ["What ale do you pour?", "Is there a room free?", "Who sits by the fire?", "What news from the road?"]

    replies = in_parallel([lambda line=line: stream(server, ask(line, seed=1)) for line in lines])

    for reply in replies:
        assert reply.done and reply.finish_reason in {"stop", "length"}
        assert reply.text.strip()
        assert reply.usage["completion_tokens"] <= 16
        if reply.finish_reason == "length":
            assert reply.usage["completion_tokens"] == 16


@pytest.mark.localmodel
def test_a_newcomer_s_first_token__does_not_wait_for_a_long_reply_to_end(server):
    with ThreadPoolExecutor(2) as pool:
        long = pool.submit(stream, server, ask("Describe the tavern's common room in detail.",
                                               temperature=0.0, max_tokens=60))
        time.sleep(0.3)  # the long reply is under way
        newcomer = pool.submit(stream, server, ask("Hello!", temperature=0.0, max_tokens=4))
        long_reply, newcomer_reply = long.result(), newcomer.result()

    assert long_reply.usage["completion_tokens"] == 60, long_reply.text  # still going when the newcomer came
    assert newcomer_reply.first_token_at < long_reply.finished_at


@pytest.mark.localmodel
def test_batched_replies__each_whole_with_its_own_sampling(server):
    """Each sequence has its own sampler chain: batched at once, a greedy reply, a seeded draw and a
    heavily penalised one are each written whole, to their own length. (Not the same text for the
    same seed every time: with one KV cache for all slots, what a reply attends over depends on
    the other slots' cells, and llama.cpp does not promise bit-equal logits for that: docs/llm.md.)"""
    batched = in_parallel([
        lambda: stream(server, ask("Tell me about the stew.", temperature=0.0, max_tokens=12)),
        lambda: stream(server, ask("And the ale?", seed=9, max_tokens=20)),
        lambda: stream(server, ask("A room?", seed=5, max_tokens=8, repeat_penalty=1.5, temperature=1.2))])

    assert all(reply.done and reply.text.strip() for reply in batched)
    assert [reply.usage["completion_tokens"] <= cap for reply, cap in zip(batched, (12, 20, 8))] == [True] * 3


@pytest.mark.localmodel
def test_a_prompt_start_decoded_by_another_slot_is_copied_not_decoded_again(server):
    """Two requests with one long persona at once: the second waits for the first's persona to be
    decoded and copies its cells (llama_memory_seq_cp) rather than decoding them again."""
    persona = ("You are Gareth Rusk, the barkeep of the Rusted Tankard, a tavern in a fantasy town. You are patient "
               "and dry, and you call everyone 'friend'. You know the smith, the miller and every traveller's tale. ") * 3

    def long(user: str, seed: int) -> dict:
        return {**ask(user, seed=seed, max_tokens=20), "messages": [
            {"role": "system", "content": persona}, {"role": "user", "content": user}]}

    alone = stream(server, long("Where is the smith?", 11))
    copies = httpx2.get(f"{server}/models", timeout=10).json()["data"][0]["prefix_copies"]
    pair = in_parallel([lambda: stream(server, long("What is in the stew?", 5)),
                        lambda: stream(server, long("Where is the smith?", 11))])

    assert httpx2.get(f"{server}/models", timeout=10).json()["data"][0]["prefix_copies"] == copies + 1
    assert alone.done and all(reply.done and reply.text.strip() for reply in pair)


@pytest.mark.localmodel
def test_background__max_tokens_capped(server):
    reply = stream(server, ask("Tell me a long story about the tavern.", max_tokens=200, temperature=0.0),
                   headers={"X-Tankard-Priority": "background"})

    assert reply.usage["completion_tokens"] <= BACKGROUND_CAP
    assert reply.done


@pytest.mark.localmodel
def test_background__never_takes_the_last_free_slot_while_a_player_talks(server):
    """Two slots: with a player's reply in one, a background request waits for it to end."""
    with ThreadPoolExecutor(2) as pool:
        player = pool.submit(stream, server, ask("Describe the common room, slowly.", max_tokens=40, temperature=1.0,
                                                 seed=3, repeat_penalty=1.3))
        time.sleep(0.3)  # the player's request is in its slot
        background = pool.submit(stream, server, ask("Summarise: the smith bought ale."),
                                 headers={"X-Tankard-Priority": "background"})
        results = {"player": player.result(), "background": background.result()}

    assert results["background"].first_token_at >= results["player"].finished_at
    assert results["background"].done and results["player"].done


@pytest.mark.localmodel
def test_stop_string__ends_the_reply_before_it(server):
    body = ask("What ale do you pour?", temperature=0.0, max_tokens=24)
    free = stream(server, body)
    words = free.text.split()
    assert len(words) >= 4, free.text
    stop = " " + words[3]

    stopped = stream(server, {**body, "stop": [stop, "\u00a7never"]})

    assert stopped.finish_reason == "stop"
    assert stopped.text == free.text[:free.text.index(stop)]


@pytest.mark.localmodel
@pytest.mark.parametrize("content", [
    b"not json", b"[]", b'{"messages": []}', b'{"messages": [{"role": "wizard", "content": "hi"}]}',
    b'{"messages": [{"role": "user", "content": "hi"}], "temperature": "hot"}',
    b'{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 0}',
    b'{"messages": [{"role": "user", "content": "hi"}], "stop": [1, 2]}',
])
def test_malformed_request__400_and_the_server_keeps_serving(server, content):
    response = httpx2.post(f"{server}/chat/completions", content=content, timeout=30)

    assert response.status_code == 400
    assert response.json()["error"]["message"]
    assert httpx2.get(f"{server}/models", timeout=10).status_code == 200


@pytest.mark.localmodel
def test_prompt_longer_than_a_slot__400(server):
    response = httpx2.post(f"{server}/chat/completions", json=ask("ale " * 1000), timeout=30)

    assert response.status_code == 400


@pytest.mark.localmodel
def test_whole_reply__not_streamed(server):
    response = httpx2.post(f"{server}/chat/completions", json=ask("Hello!", temperature=0.0), timeout=30)

    body = response.json()
    assert body["choices"][0]["message"]["content"].strip()
    assert body["usage"]["completion_tokens"] >= 1


def test_gate__follows_the_local_slot_count(settings, monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    settings.TANKARD_LLM = {**settings.TANKARD_LLM, "CONCURRENCY": 0, "LOCAL_SLOTS": 3}

    assert gate_limits(local=True)[0] == 3
    assert gate_limits(local=False)[0] == 8


def test_reply_text__holds_back_a_possible_stop_string_until_it_is_decided():
    reply = ReplyText(("\nUser:",))

    assert reply.add(b"Ale is good.") == "Ale is good."
    assert reply.add(b"\nUs") == ""
    assert reply.add(b"ually") == "\nUsually"
    assert reply.add(b"\nUser: more") == ""
    assert reply.stopped


def test_reply_text__joins_a_character_split_across_tokens():
    reply = ReplyText(())
    pound = "\u00a3".encode()

    assert reply.add(b"a " + pound[:1]) == "a "
    assert reply.add(pound[1:] + b"5") == "\u00a35"
    assert reply.flush() == ""


# --- the weights it reads -----------------------------------------------------------------------------
@pytest.mark.localmodel
def test_weights__re_encoded_once_as_q8_0__then_reused(tmp_path):
    from llm.local_server import local_model_path
    from llm.model_server.model import weights_in

    require_llama_cpp()
    shipped = local_model_path()
    made = weights_in(shipped, "q8_0", tmp_path / "models")
    stamp = made.stat().st_mtime_ns

    assert made.parent == tmp_path / "models" and made.read_bytes()[:4] == b"GGUF"
    assert made.stat().st_size > shipped.stat().st_size  # 8 bits a weight, not 4
    assert weights_in(shipped, "q8_0", tmp_path / "models") == made and made.stat().st_mtime_ns == stamp
    assert [p.name for p in (tmp_path / "models").iterdir()] == [made.name]  # no half-written file left
    assert weights_in(shipped, "as-shipped", tmp_path / "models") == shipped


@pytest.mark.localmodel
def test_weights__a_folder_that_cannot_be_written__the_shipped_file_is_read(tmp_path):
    from llm.local_server import local_model_path
    from llm.model_server.__main__ import arguments, model_file

    require_llama_cpp()
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder would go")
    args = arguments(["--model", str(local_model_path()), "--weights", "q8_0", "--weights-dir", str(blocker / "models")])

    assert model_file(args) == local_model_path()


def test_engine__loads_the_model_on_its_own_thread_and_start_raises_what_the_load_raised():
    """Every llama.cpp computation runs on the engine's thread, the load included: llama.cpp's
    OpenMP threads belong to the thread that first computes, and a second computing thread made a
    second team whose barriers slept (a one-token step 45 ms instead of 6.6 ms on 2 cores)."""
    import threading

    from llm.model_server.engine import Engine
    from llm.model_server.model import ModelError

    loaded_on = []

    @dataclass
    class Loaded:
        slots: int = 3

    def load():
        loaded_on.append(threading.current_thread().name)
        return Loaded()

    engine = Engine(load)
    engine.start()
    try:
        assert loaded_on == ["model-engine"] and len(engine.slots) == 3 and engine.stats()["slots"] == 3
    finally:
        engine.stop()

    def broken():
        raise ModelError("no such model file")

    with pytest.raises(ModelError, match="no such model file"):
        Engine(broken).start()


def test_model_server__a_file_that_is_no_model__exits_2_with_the_reason(tmp_path):
    import subprocess
    import sys

    require_llama_cpp()
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a model")
    done = subprocess.run([sys.executable, "-m", "llm.model_server", "--model", str(bad), "--port", str(free_port())],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "model server:" in done.stderr
