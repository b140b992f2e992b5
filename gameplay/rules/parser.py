"""Turns what a player types into an intent: a verb and its words, in the common phrasings
("buy an ale", "order ale", "drink my ale", "go to the cellar")."""
from __future__ import annotations

import re
from dataclasses import dataclass

NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
    "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90, "dozen": 12, "hundred": 100,
}
MAX_COUNT = 1000  # a count read is kept within this; past what any rule allows, so the rules refuse it in words
_TENS = {"twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"}
FILLER = {"a", "an", "the", "some", "my", "your", "this", "that", "please", "of", "to", "at", "into", "for", "me", "in", "on", "with"}


@dataclass(frozen=True)
class Intent:
    verb: str
    target: str = ""
    qty: int = 1
    amount: int | None = None
    npc: str = ""
    extra: str = ""


def _clean(text: str) -> str:
    text = text.lower().strip()
    text = re.sub(r"[^\w\s'@:,-]", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def strip_filler(words: str) -> str:
    return " ".join(w for w in words.split() if w not in FILLER).strip()


_GOLD = re.compile(r"^(?:my |the |your |of )*(?:gold|coins?|money|crowns?|gold (?:coins?|pieces?|crowns?))$")
_COIN_ONLY = re.compile(r"^(?:my |the |your |of )*coins?$")  # "the coin" may be the lucky coin: gold only with a figure


def _gold(target: str) -> tuple[bool, int | None, bool]:
    """Whether the words name gold, how much ("5 gold", "five gold"; None: no figure), and whether
    they said all of it ("all my gold")."""
    words = target.split()
    everything = words[:1] == ["all"]
    if everything:
        words = words[2:] if words[1:2] == ["of"] else words[1:]
    counted = None if everything or words[:1] in (["a"], ["an"]) else count_said(words)
    rest = " ".join(words[counted[1]:] if counted else words)
    if not _GOLD.match(rest):
        return False, None, False
    return True, counted[0] if counted else None, everything


def count_said(words: list[str]) -> tuple[int, int] | None:
    """The number the words start with and how many words it takes ("3", "three", "twenty-one",
    "twenty one", "a dozen", "a couple of", "an"), or None."""
    if not words:
        return None
    first = words[0]
    if first.isdigit():
        return int(first), 1
    tens, _, unit = first.partition("-")
    if tens in _TENS and NUMBER_WORDS.get(unit, 10) < 10:
        return NUMBER_WORDS[tens] + NUMBER_WORDS[unit], 1  # "twenty-one"
    if first not in NUMBER_WORDS or first in ("dozen", "hundred"):
        return None
    if first in ("a", "an") and len(words) > 1 and words[1] in ("dozen", "hundred"):
        return NUMBER_WORDS[words[1]], 2
    if first == "a" and words[1:3] == ["couple", "of"]:
        return 2, 3
    if first in _TENS and len(words) > 1 and words[1] in NUMBER_WORDS and 1 <= NUMBER_WORDS[words[1]] < 10 and words[1] not in ("a", "an"):
        return NUMBER_WORDS[first] + NUMBER_WORDS[words[1]], 2  # "twenty one"
    return NUMBER_WORDS[first], 1


def _qty(target: str) -> tuple[int, str]:
    parts = target.split()
    counted = count_said(parts)
    if counted is None:
        return 1, target
    qty, used = counted
    return max(1, min(qty, MAX_COUNT)), " ".join(parts[used:])


_GREETING = r"(?:hi|hello|hey|hiya|howdy|greetings|good (?:morning|day|evening|afternoon)|evening|morning)"
# Each pattern maps a phrasing to a verb; named groups fill the intent. First match wins.
PATTERNS: tuple[tuple[str, str], ...] = (
    (r"^(help|\?|commands|what can i do)$", "help"),
    (r"^(look|l|look around|where am i|describe)$", "look"),
    (r"^(inventory|inv|i|bag|pack|what do i have|what am i carrying|(?:count|check) (?:my |the )?(?:coins?|gold|money|purse)|"
     r"how much (?:gold|money|coin) (?:do i have|have i got))$", "inventory"),
    (r"^(?:who(?:'s| is| else is)? (?:here|around|about|in here|in the room|present)|any ?(?:one|body) (?:else )?(?:here|around)|"
     r"is any ?(?:one|body) (?:else )?(?:here|around)|who do i see|people|who)$", "who"),
    (r"^(status|stats|me|score|how am i|health)$", "status"),
    (r"^(?:menu|prices|price list|wares|the menu|what(?:'s| is) for sale|what (?:can|could) i (?:buy|get|order|have)(?: here)?|"
     r"what(?:'s| is) on offer|what do (?:you|they) (?:sell|serve|have))$", "wares"),
    (r"^(?:quit|exit|log ?out|save|save game|leave the game|bye)$", "quit"),
    (r"^(?:(?:my |the )?(?:clues?|journal|evidence|notes)|what (?:do i know|have i found)(?: so far)?(?: about the (?:tankard|mystery|theft))?)$", "clues"),
    (r"^(time|what time is it|what's the time|the time|clock)$", "time"),
    (r"^(notice ?board|board|bounties|bounty|quests|notices|(?:read|look at|examine|check|study) (?:the )?(?:notice ?board|board|notices|bounties))$", "board"),
    (r"^(rumou?rs?|gossip|news|listen|eavesdrop|hear rumou?rs?|any news)$", "rumours"),
    (r"^(jobs|work list|list jobs|what work is there|any work)$", "jobs"),
    (r"^(chest|open (the |my )?chest|look in (the |my )?chest|check (the |my )?chest)$", "chest"),
    (r"^(?:rent|hire|book|take|get)(?: me)? (?:a |the )?room(?: for the night)?$", "rent"),
    (r"^(?:rent|book|pay for|keep|stay)(?: (?:my|the) room)? (?:for )?(?P<extra>another|one more|an extra) night$", "rent"),
    (r"^(?P<extra>extend|keep) (?:my|the) room(?: (?:a|one) (?:night|day) longer)?$", "rent"),
    (r"^(sleep|rest|go to (bed|sleep)|nap|turn in|retire)$", "sleep"),
    (r"^wait(?: for)?(?: (?P<amount>\d+|an?|one|two|three|four|five|six))?(?: (?:bells?|hours?))?$", "wait"),
    (r"^(?:wait|rest) until (?P<target>.+)$", "wait_until"),
    (r"^(?P<extra>(?:gamble|bet|wager|play|roll|flip|toss|draw|dice|coin|high card|cards?)\b.*)$", "gamble"),
    (r"^(?:accept|take on|sign up for|take up) (?:the )?(?:bounty )?(?P<target>.+)$", "accept"),
    (r"^(?:abandon|drop|give up) (?:the )?(?:bounty )?(?P<target>.+)$", "abandon"),
    (r"^(?:retrieve|withdraw|take|fetch|get) (?P<target>.+?) (?:from|out of) (?:the |my )?chest$", "retrieve"),
    (r"^(?:retrieve|withdraw) (?P<target>.+)$", "retrieve"),
    (r"^(?:store|stow|deposit|stash) (?P<target>.+?)(?: (?:in|into) (?:the |my )?chest)?$", "store"),
    (r"^(?:put|leave|place|lock) (?P<target>.+?) (?:in|into) (?:the |my )?chest$", "store"),  # "put my feet up" is no storing
    (r"^(?:look at|examine|inspect|x|search|study|check|read) (?P<target>.+)$", "examine"),
    (r"^(?:go|walk|head|move|run|climb|step|return|enter|go back)(?: (?:to|into|in|up|down|up to|down to|out to|back to|over to))?(?: the)? (?P<target>.+)$", "go"),
    (r"^(?:buy|order|purchase|get|grab|have)(?: me)? (?P<target>.+?) for (?P<npc>[\w' -]+)$", "buy_for"),
    (r"^(?:buy|order|purchase|i'll have|i will have|i'd like|get me|can i get|can i have|give me)(?: (?:an?|some)(?= (?!dozen\b|hundred\b|couple of\b)))? (?P<target>.+)$", "buy"),
    (r"^(?:drink|eat|use|quaff|sip|gulp|consume|down|swig|chew|light|read) (?P<target>.+)$", "use"),
    (r"^(?P<extra>drink|eat)(?: (?:up|something|anything))?$", "use"),  # what is carried of that kind
    (r"^(?:give|hand|offer) (?P<target>.+?) to (?P<npc>.+)$", "give"),
    (r"^tip (?P<npc>[\w'-]+) (?P<target>(?:\d+|[a-z-]+) (?:gold|coins?|crowns?))$", "give"),  # not "tip my hat to Wren"
    (r"^(?:give|hand|offer) (?P<npc>[\w'-]+) (?P<target>.+)$", "give"),
    (r"^(?:deliver|bring) (?P<target>.+?) to (?P<npc>.+)$", "give"),
    (r"^(?:work|do|take)(?: (?:as|at|on|the|a|job|shift))*(?: (?P<target>.+))?$", "work"),
    (r"^(?:report|report back|report in)(?: (?:to|back to))?(?: (?P<npc>.+))?$", "report"),
    (r"^(?:accuse|blame|name the culprit|it was) (?P<npc>.+)$", "accuse"),
    (r"^whisper(?: (?P<extra>.*))?$", "whisper"),
    (r"^(?:talk|speak|chat|greet)(?: (?:to|with))? (?P<npc>.+)$", "talk"),
    (r"^ask (?P<npc>[\w'-]+) about (?P<target>.+)$", "ask_about"),
    (r"^(?:ask|tell) (?P<npc>[\w'-]+) (?:about )?(?P<target>.+)$", "say"),
    (r"^(?:say|whisper|shout)(?: (?P<target>.+?))? to (?P<npc>[\w'-]+)$", "say"),
    (r"^(?:say|announce)\b[ :,]*(?P<extra>.*)$", "speak"),  # to the room, to nobody in particular
    (rf"^(?P<extra>{_GREETING}(?: (?:there|all|everyone|everybody|folks|you))?)[!.]*$", "speak"),  # "hello there": to the room
    (rf"^{_GREETING}(?: there)?,? (?P<npc>[\w'-]+)[!.]*$", "greet"),  # "hello gareth": to him
    (r"^@(?P<npc>[\w'-]+)[ :,]+(?P<target>.+)$", "say"),
    (r"^(?P<npc>[\w'-]+)[:,] (?P<target>.+)$", "say"),
)
COMPILED = tuple((re.compile(p), verb) for p, verb in PATTERNS)
_WHISPER = re.compile(r"^whisper\b", re.IGNORECASE)
_SPEAK = re.compile(r"^(?:say|announce)\b[\s:,]*", re.IGNORECASE)


def intent_parse(text: str) -> Intent:
    """Parse a player's line; unrecognised lines give the verb `unknown`."""
    line = _clean(text)
    if not line:
        return Intent("unknown")
    for pattern, verb in COMPILED:
        m = pattern.match(line)
        if not m:
            continue
        groups = {k: (v or "").strip() for k, v in m.groupdict().items()}
        target, npc, extra = groups.get("target", ""), groups.get("npc", ""), groups.get("extra", "")
        if verb == "say":
            return Intent("say", target=target or "hello", npc=strip_filler(npc))
        if verb == "ask_about":  # "ask gareth about the rats": said as the question it is
            return Intent("say", target=f"Tell me about {target}.", npc=strip_filler(npc))
        if verb == "whisper":  # the words keep their case and marks: the handler finds the NPC in them
            return Intent("whisper", extra=_WHISPER.sub("", text.strip(), count=1).strip())
        if verb == "speak":  # the words as typed
            return Intent("speak", extra=_SPEAK.sub("", text.strip(), count=1).strip())
        if verb == "greet":  # "hello gareth": said to Gareth
            return Intent("say", target=text.strip().rstrip("!.").rsplit(" ", 1)[0].rstrip(",") + ".", npc=strip_filler(npc))
        amount = groups.get("amount")
        if verb in {"store", "retrieve", "give"}:
            gold, how_much, everything = _gold(target)
            if gold and verb == "give" and how_much is None and not everything:
                if _COIN_ONLY.match(target):
                    gold = False  # "give the coin to Amos": the lucky coin
                else:  # "give gold to Tobias": how much is asked
                    return Intent(verb, target="gold", amount=0, npc=strip_filler(npc))
            if gold:  # "put 5 gold in the chest", "give 2 gold to Tobias": `amount` is how much, None all of it
                return Intent(verb, target="gold", amount=how_much, npc=strip_filler(npc))
        qty, target = _qty(target) if verb in {"buy", "buy_for", "use", "store", "retrieve", "give"} else (1, target)
        return Intent(
            verb,
            target=strip_filler(target) if verb != "wait_until" else target,
            qty=qty,
            amount=(int(amount) if amount.isdigit() else NUMBER_WORDS.get(amount, 1)) if amount else None,
            npc=strip_filler(npc),
            extra=extra.strip(),
        )
    return Intent("unknown", target=line)


def _variants(words: str) -> set[str]:
    q = strip_filler(words.lower().replace("-", " "))
    return {q, q.rstrip("s"), q[:-2] if q.endswith("es") else q} - {""}


def words_match(query: str, *names: str, strict: bool = False) -> bool:
    """Whether the player's words name this thing: exactly (singular or plural), or, unless strict,
    when all the player's words are among the name's words."""
    variants = _variants(query)
    if not variants:
        return False
    q_words = strip_filler(query.lower().replace("-", " ")).split()
    for name in names:
        if variants & _variants(name):
            return True
        if strict:
            continue
        n_words = set(strip_filler(name.lower().replace("-", " ")).split())
        if q_words and (set(q_words) <= n_words or {w.rstrip("s") for w in q_words} <= n_words):
            return True
    return False


# Two commands in one line ("buy ale and drink it", "go to the kitchen, then buy poison"): each part
# must read as a command of the rules on its own ("buy cheese and pickle" is one thing: "pickle" is no
# command); "it" or "them" in a later part is the thing the part before named.
_JOINS = re.compile(r"\s*(?:,\s*and then|,\s*then|,?\s+and then|\s+then|,?\s+and)\s+")
_NOT_JOINED = frozenset({"unknown", "say", "speak", "whisper", "talk", "greet"})
_PRONOUN = re.compile(r"\b(?:it|them)\b")


def commands_joined(text: str) -> list[str] | None:
    """The commands a line joins, in order, when it joins two or three; else None."""
    line = _clean(text)
    parts = [p for p in _JOINS.split(line) if p]
    if not 2 <= len(parts) <= 3:
        return None
    out, before = [], None
    for part in parts:
        if before is not None and before.target:
            part = _PRONOUN.sub(before.target, part)
        intent = intent_parse(part)
        if intent.verb in _NOT_JOINED:
            return None
        out.append(part)
        before = intent
    return out
