"""Prompt assembly for NPC replies, from plain values, within a measured token budget.

Pure functions: the caller (npcs, memory, gameplay) turns its models into the frozen values
defined here, and `build_npc_messages` turns those into chat messages that always fit the
context window.

    values.py  Persona, Situation, Turn, Memory, INSTRUCTIONS, PromptBudget, PromptResult
    tokens.py  count_tokens (measured with the model's vocabulary), truncation
    render.py  how each section reads
    build.py   build_npc_messages: fitting the sections to the budget
"""
from llm.prompts.build import build_npc_messages, prompt_restated
from llm.prompts.narration import build_narration_messages
from llm.prompts.render import LABELS as PROMPT_LABELS
from llm.prompts.render import render_instructions, sanitize
from llm.prompts.tokens import (
    MESSAGE_OVERHEAD,
    REPLY_PRIMER,
    count_tokens,
    estimate_tokens,
    messages_tokens,
    truncate_to_tokens,
    warm_tokenizer,
)
from llm.prompts.values import INSTRUCTIONS, Memory, Persona, PromptBudget, PromptResult, Situation, Turn

__all__ = [
    "Persona", "Situation", "Turn", "Memory", "PromptBudget", "PromptResult", "build_npc_messages", "prompt_restated",
    "build_narration_messages",
    "count_tokens", "estimate_tokens", "messages_tokens", "truncate_to_tokens", "warm_tokenizer",
    "MESSAGE_OVERHEAD", "REPLY_PRIMER", "INSTRUCTIONS", "render_instructions", "sanitize", "PROMPT_LABELS",
]
