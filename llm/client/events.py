"""What a reply stream yields, and the TANKARD_LLM settings the client reads."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from django.conf import settings


@dataclass(frozen=True)
class Queued:
    """The request waits for a slot; `position` is 1 for the next in line."""

    position: int


@dataclass(frozen=True)
class Thinking:
    """The first token is slow in coming (sent at most once)."""


@dataclass(frozen=True)
class Token:
    text: str


@dataclass(frozen=True)
class Finished:
    text: str
    finish_reason: str
    prompt_tokens: int | None  # None when the server does not report usage while streaming
    completion_tokens: int  # reported usage, else the number of content chunks received
    retries: int


StreamEvent = Union[Queued, Thinking, Token, Finished]


@dataclass(frozen=True)
class Sampling:
    """How the model picks its words, in the OpenAI API's own parameters (every compatible server,
    llama.cpp's included, takes them). `stop` ends the reply at any of its strings; `seed` makes a
    regenerated reply differ from the first on a server that would otherwise repeat itself."""

    temperature: float = 0.7
    top_p: float | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    stop: tuple[str, ...] = ()
    seed: int | None = None

    @classmethod
    def for_replies(cls, *, seed: int | None = None) -> Sampling:
        """An NPC's spoken reply: TANKARD_LLM's sampling settings, one paragraph (a new line ends it)."""
        c = settings.TANKARD_LLM
        return cls(temperature=c["TEMPERATURE"], top_p=c["TOP_P"], presence_penalty=c["PRESENCE_PENALTY"] or None,
                   frequency_penalty=c["FREQUENCY_PENALTY"] or None, stop=("\n",), seed=seed)

    def request_fields(self) -> dict:
        fields: dict = {"temperature": self.temperature}
        for name in ("top_p", "presence_penalty", "frequency_penalty", "seed"):
            if getattr(self, name) is not None:
                fields[name] = getattr(self, name)
        if self.stop:
            fields["stop"] = list(self.stop)
        return fields


@dataclass(frozen=True)
class LLMConfig:
    """The TANKARD_LLM settings the client uses, read once per call."""

    connect: float
    first_token: float
    token_gap: float
    total: float
    retries: int
    max_reply_tokens: int
    thinking_after: float

    @classmethod
    def from_settings(cls) -> LLMConfig:
        c = settings.TANKARD_LLM
        return cls(
            connect=c["CONNECT_TIMEOUT"], first_token=c["FIRST_TOKEN_TIMEOUT"], token_gap=c["TOKEN_GAP_TIMEOUT"],
            total=c["TOTAL_TIMEOUT"], retries=c["RETRIES"], max_reply_tokens=c["MAX_REPLY_TOKENS"],
            thinking_after=c["THINKING_AFTER"],
        )
