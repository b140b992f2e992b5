"""The semantic reply cache: common questions answered in milliseconds, and never wrongly.

A reply is reused only for the same NPC (id and persona version), the same context fingerprint
(mood, relationship tier, part of the day, and every fact of the prompt's situation; the day too
when today's rumours were in it) and the same question: either one of the canonical tavern
questions, matched by an embedding search over exemplars that a word guard must confirm, or the
same concepts (a line's signature: synonyms, idioms, typing slips and the world's names read as
one), or the very same words. Replies that drew on the player's memories or the conversation so
far, proposed game actions, or fell back are never kept; a later line in a conversation is
answered from the cache only when it stands alone (`followup.py`). See docs/reply_cache.md.

    questions.py  the canonical questions and their exemplar phrasings
    lexicon.py    the words that change a question's meaning (the guard's classes)
    matcher.py    line -> question: guard, nearest exemplar, score and margin; else the signature
    asked.py      the questions players put to one NPC (written by editors): a line that asks one
    signature.py  a line's concepts (its signature), and the world's names as plain values (Aliases)
    wordlists.py  slang, idioms, words that change nothing, groups of words that ask the same thing
    followup.py   whether a later line stands alone, or hangs on the conversation
    keys.py       the request's plain values and the context fingerprint
    slots.py      player's name and time words as slots, filled on reuse
    levels.py     in-process LRU, Django cache (Redis), database; promotion; generations
    flight.py     one model call for identical asks in flight
    services.py   open / finish / close a ticket, flag, purge, prune, store pre-generated
    selectors.py  dashboard statistics, pre-generation targets
"""
from .asked import Asked, asked_match, asked_warm
from .keys import ReplyCacheRequest, persona_digest
from .levels import CachedReply, memory_clear
from .followup import follow_up_reason
from .matcher import QuestionMatch, index_warm, question_match, signature_match
from .signature import Aliases, signature
from .questions import QUESTIONS, Question
from .services import (
    CacheTicket,
    FlagOutcome,
    areply_cache_open,
    reply_cache_close,
    reply_cache_keep,
    reply_cache_flag,
    reply_cache_prune,
    reply_cache_purge,
    reply_cache_evict_where,
    reply_cache_store_pregen,
    reply_demand_seed,
    reply_match_begin,
)

__all__ = [
    "Aliases", "Asked", "asked_match", "asked_warm", "follow_up_reason", "signature", "signature_match", "ReplyCacheRequest", "persona_digest", "CachedReply", "CacheTicket", "FlagOutcome", "QuestionMatch", "Question", "QUESTIONS",
    "areply_cache_open", "reply_cache_close", "reply_cache_keep", "reply_cache_flag", "reply_cache_purge", "reply_cache_evict_where",
    "reply_cache_prune", "reply_cache_store_pregen", "reply_demand_seed", "reply_match_begin", "question_match", "index_warm", "memory_clear",
]
