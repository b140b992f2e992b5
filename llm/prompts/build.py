"""Assembling an NPC prompt within its budget: section shares first, then a measured safety net.

The situation is focused on the line first (llm/prompts/focus.py): of the moment's prices,
bounties, rumours and what the NPC knows, only what the line is about goes in."""
from __future__ import annotations

from typing import Sequence

from llm.prompts.render import (
    render_canon,
    render_instructions,
    render_memories,
    render_persona,
    render_situation,
    sanitize,
)
from llm.prompts.focus import focus_for
from llm.prompts.tokens import MESSAGE_OVERHEAD, count_tokens, messages_tokens, truncate_to_tokens
from llm.prompts.values import Memory, Persona, PromptBudget, PromptResult, Situation, Turn

SITUATION_TRIM_ORDER = ("rumours", "active_bounties", "present", "prices", "facts")


def build_npc_messages(
    *,
    persona: Persona,
    situation: Situation,
    recent: Sequence[Turn],
    memories: Sequence[Memory],
    player_line: str,
    budget: PromptBudget,
    canary: str | None = None,
    proposals: bool = False,
    moment_last: bool = True,
    topic: str | None = None,
) -> PromptResult:
    """Chat messages for one NPC reply: system (persona, instructions, situation, memories), the
    persona's voice examples as earlier exchanges, the recent turns oldest first, then the player's
    line. `moment_last`: the moment (situation, canon facts, memories) is a second system message
    just before the line instead, so every prompt to an NPC starts with the same character sheet
    and examples, and a conversation's prompt with the one before it: a model server that keeps
    prompt starts decodes only the moment and the line (docs/llm.md). `proposals`: ask for action markers too (a model strong enough to write them). The
    situation's `canon` facts (best first) get their own share of the budget. Always within
    `budget.prompt_limit`: the oldest turns go first, then the lowest-ranked memories (`memories`
    come best first), then situation list items, then the lowest canon facts, and the player's line
    is shortened last. `topic`: the words the situation's prices, bounties, rumours and known facts
    are picked by (default the player's line; a line that hangs on the one before it, "Who took
    it?", brings that one's words too)."""
    draft = _Draft(
        instructions=render_instructions(canary, proposals=proposals),
        persona=sanitize(render_persona(persona)),
        examples=[(sanitize(said), sanitize(reply)) for said, reply in persona.voice],
        situation=_sanitized_situation(_focused(situation, persona, topic or player_line)),
        memories=[Memory(sanitize(m.text)) for m in memories],
        turns=[Turn(t.speaker, sanitize(t.text)) for t in recent],
        player_line=sanitize(player_line).strip(),
        moment_last=moment_last,
    )
    spare = draft.fit_sections(budget)
    spare += draft.fit_canon(budget.canon)
    draft.fit_turns(budget.recent + spare)
    draft.fit_total(budget.prompt_limit)
    return draft.result(budget)


def _focused(situation: Situation, persona: Persona, line: str) -> Situation:
    """The situation with only the prices, bounties, rumours and known facts the line is about."""
    focus = focus_for(line=line, prices=situation.prices, knows=persona.knows, bounties=situation.active_bounties,
                      rumours=situation.rumours)
    return Situation(**{**vars(situation), "prices": focus.prices, "active_bounties": focus.bounties,
                        "rumours": focus.rumours, "facts": situation.facts + focus.knows})  # the game's facts first: trimmed last


def _sanitized_situation(situation: Situation) -> Situation:
    values = {}
    for name, value in vars(situation).items():
        if isinstance(value, str):
            values[name] = sanitize(value)
        elif isinstance(value, tuple):
            values[name] = tuple(sanitize(v) for v in value)
        else:
            values[name] = value
    return Situation(**values)


class _Draft:
    """The prompt being fitted; each trimming step records what it dropped."""

    def __init__(self, *, instructions: str, persona: str, examples: list[tuple[str, str]], situation: Situation,
                 memories: list[Memory], turns: list[Turn], player_line: str, moment_last: bool) -> None:
        self.moment_last = moment_last
        self.instructions = instructions
        self.persona = persona
        self.examples = examples
        self.canon = list(situation.canon)
        self.situation = _replace(situation, "canon", ())
        self.situation_limit: int | None = None
        self.memories = list(enumerate(memories))
        self.turns = list(enumerate(turns))
        self.player_line = player_line
        self.system_limit: int | None = None
        self.dropped: list[str] = []

    # sections within their shares
    def fit_sections(self, budget: PromptBudget) -> int:
        """Fit persona, situation, memories and player line to their shares; return the unused tokens."""
        self.persona = self._truncated(self.persona, budget.persona, "persona")
        while self.examples and count_tokens(self.persona) + self.examples_tokens() > budget.persona:
            self.examples.pop()
            self.dropped.append(f"voice:{len(self.examples)}")
        self.player_line = self._truncated(self.player_line, budget.player_line, "player_line")
        while count_tokens(render_situation(self.situation)) > budget.situation and self.trim_situation():
            pass
        if count_tokens(render_situation(self.situation)) > budget.situation:
            self.situation_limit = budget.situation
            self.dropped.append("situation:truncated")
        while count_tokens(self.memories_text()) > budget.memories and self.drop_memory():
            pass
        used = (count_tokens(self.persona) + self.examples_tokens() + count_tokens(self.situation_text()) + count_tokens(self.memories_text())
                + count_tokens(self.player_line))
        return max(0, budget.persona + budget.situation + budget.memories + budget.player_line - used)

    def fit_canon(self, limit: int) -> int:
        """Keep the highest canon facts that fit their share; return the unused tokens."""
        while self.canon and self.canon_tokens() > limit:
            self.drop_canon()
        return max(0, limit - self.canon_tokens())

    def fit_turns(self, limit: int) -> None:
        kept, used = [], 0
        for index, turn in reversed(self.turns):
            used += count_tokens(turn.text) + MESSAGE_OVERHEAD
            if used > limit:
                break
            kept.append((index, turn))
        for index, _ in self.turns[: len(self.turns) - len(kept)]:
            self.dropped.append(f"turn:{index}")
        self.turns = kept[::-1]

    def fit_total(self, limit: int) -> None:
        """The safety net: measure the real messages and trim in the documented order."""
        while (overflow := messages_tokens(self.messages()) - limit) > 0:
            if not (self.drop_turn() or self.drop_memory() or self.drop_example() or self.trim_situation()
                    or self.drop_canon() or self.shorten_player_line(overflow) or self.shorten_system(overflow)):
                raise ValueError("The prompt cannot fit its budget.")  # unreachable with a valid budget

    # trimming steps (each returns False when it has nothing left to trim)
    def drop_turn(self) -> bool:
        if not self.turns:
            return False
        index, _ = self.turns.pop(0)
        self.dropped.append(f"turn:{index}")
        return True

    def drop_memory(self) -> bool:
        if not self.memories:
            return False
        index, _ = self.memories.pop()
        self.dropped.append(f"memory:{index}")
        return True

    def drop_example(self) -> bool:
        if not self.examples:
            return False
        self.examples.pop()
        self.dropped.append(f"voice:{len(self.examples)}")
        return True

    def trim_situation(self) -> bool:
        for name in SITUATION_TRIM_ORDER:
            items = getattr(self.situation, name)
            if items:
                self.situation = _replace(self.situation, name, items[:-1])
                self.dropped.append(f"situation.{name}:{len(items) - 1}")
                return True
        return False

    def drop_canon(self) -> bool:
        if not self.canon:
            return False
        self.canon.pop()
        self.dropped.append(f"canon:{len(self.canon)}")
        return True

    def shorten_player_line(self, overflow: int) -> bool:
        tokens = count_tokens(self.player_line)
        if tokens == 0:
            return False
        self.player_line = self._truncated(self.player_line, max(0, tokens - overflow), "player_line")
        return True

    def shorten_system(self, overflow: int) -> bool:
        tokens = count_tokens(self.system_text())
        if tokens <= 1:
            return False
        self.system_limit = max(1, tokens - overflow)
        self.dropped.append("system:truncated")
        return True

    # rendering
    def _truncated(self, text: str, limit: int, section: str) -> str:
        cut = truncate_to_tokens(text, limit)
        if cut != text and f"{section}:truncated" not in self.dropped:
            self.dropped.append(f"{section}:truncated")
        return cut

    def examples_tokens(self) -> int:
        return sum(count_tokens(said) + count_tokens(reply) + 2 * MESSAGE_OVERHEAD for said, reply in self.examples)

    def memories_text(self) -> str:
        return render_memories([m for _, m in self.memories])

    def canon_text(self) -> str:
        return render_canon(self.canon)

    def canon_answer(self) -> str:
        return " ".join(fact.strip() for fact in self.canon)

    def canon_tokens(self) -> int:
        """The facts in the system message, and said as the answer of the exchange before the line."""
        if not self.canon:
            return 0
        return count_tokens(self.canon_text()) + count_tokens(self.player_line) + count_tokens(self.canon_answer()) + 2 * MESSAGE_OVERHEAD

    def situation_text(self) -> str:
        text = render_situation(self.situation)
        return text if self.situation_limit is None else truncate_to_tokens(text, self.situation_limit)

    def moment_text(self) -> str:
        parts = (self.situation_text(), self.canon_text(), self.memories_text())
        return "\n\n".join(part for part in parts if part)

    def system_text(self) -> str:
        # The persona leads: small models hold on to whatever the system message opens with.
        parts = (self.persona, self.instructions) + (() if self.moment_last else (self.moment_text(),))
        text = "\n\n".join(part for part in parts if part)
        return text if self.system_limit is None else truncate_to_tokens(text, self.system_limit)

    def messages(self) -> list[dict[str, str]]:
        messages = [{"role": "system", "content": self.system_text()}]
        for said, reply in self.examples:
            _append(messages, "user", said)
            _append(messages, "assistant", reply)
        for _, turn in self.turns:
            _append(messages, "user" if turn.speaker == "player" else "assistant", turn.text)
        if self.moment_last and (moment := self.moment_text()):
            _append(messages, "system", moment)
        if self.canon:  # the line answered with the facts just before it is asked: a small model copies what it was shown
            _append(messages, "user", self.player_line)
            _append(messages, "assistant", self.canon_answer())
        _append(messages, "user", self.player_line)
        return messages

    def result(self, budget: PromptBudget) -> PromptResult:
        messages = self.messages()
        tokens = {
            "instructions": count_tokens(self.instructions),
            "persona": count_tokens(self.persona),
            "voice": self.examples_tokens(),
            "situation": count_tokens(self.situation_text()),
            "canon": self.canon_tokens(),
            "memories": count_tokens(self.memories_text()),
            "recent": sum(count_tokens(t.text) + MESSAGE_OVERHEAD for _, t in self.turns),
            "player_line": count_tokens(self.player_line),
            "total": messages_tokens(messages),
        }
        return PromptResult(tuple(messages), tokens, tuple(self.dropped), budget)


def prompt_restated(prompt: PromptResult, sentence: str) -> PromptResult:
    """The same prompt with `sentence` said again at the end of its last system message (a reply
    that contradicted a canon fact is asked for once more so); still within the budget: the oldest
    earlier exchanges make room, then the first system message is shortened."""
    messages = [dict(m) for m in prompt.messages]
    last = max(i for i, m in enumerate(messages) if m["role"] == "system")
    messages[last]["content"] = f"{messages[last]['content']}\n{sanitize(sentence)}"
    dropped = [*prompt.dropped, "restated"]
    limit = prompt.budget.prompt_limit
    while messages_tokens(messages) > limit and len(messages) > 2 and messages[1]["role"] != "system":
        messages.pop(1)
        dropped.append("restated:earlier")
        if len(messages) > 2 and messages[1]["role"] == "assistant":  # keep the system message first, then a user turn
            messages.pop(1)
    if (overflow := messages_tokens(messages) - limit) > 0:
        system = messages[0]["content"]
        messages[0]["content"] = truncate_to_tokens(system, max(1, count_tokens(system) - overflow))
    return PromptResult(tuple(messages), {**prompt.tokens, "total": messages_tokens(messages)}, tuple(dropped), prompt.budget)


def _append(messages: list[dict[str, str]], role: str, content: str) -> None:
    """Consecutive messages of one role are merged: some chat templates insist on alternation."""
    if messages[-1]["role"] == role:
        messages[-1] = {"role": role, "content": f"{messages[-1]['content']}\n{content}"}
    else:
        messages.append({"role": role, "content": content})


def _replace(situation: Situation, name: str, value: tuple[str, ...]) -> Situation:
    return Situation(**{**vars(situation), name: value})
