"""What a line asks, as concepts: how the reply cache tells that two lines that ask none of the
canonical questions still ask the same thing.

A line is spelled out (slang, chat spellings and common typing slips: "wat", "u", "rooom"), its
idioms read as what they mean ("set me back" is a price, "wet my whistle" a drink), and each
remaining word reduced to a concept: a group of synonyms (room, bed, kip; gossip, rumours, news),
one of the world's things by any of its names (passed in by the caller as plain values), or, for a
word of no group, its stem ("selling", "sells": "sell"). Words that never change what is asked
("what", "really", "please", "tell me") are dropped.

The concepts come in two kinds. **Known** ones (a group, a thing of the world, a question word such
as why, where, when, who; a price, a tense, a negation, "my", a third person) must be the same in two
lines for them to share a reply. **Unknown** ones (a stem of no group) may differ only when the two
lines are also close in meaning (`phrasings.py` decides, with an embedding). A line with no concept
left (an interjection) has no signature, and is keyed by its own words.
"""
from __future__ import annotations

import functools
import hashlib
import re
import threading
from dataclasses import dataclass

import snowballstemmer

from .lexicon import CONTRACTIONS, NEUTRAL, strip_vocatives
from .wordlists import ASPECTS, GROUPS, IDIOMS, KIN, MODIFIERS, SLANG, SOFT, WEAK, english_words

_GROUP_OF: dict[str, str] = {word: name for name, words in GROUPS.items() for word in words.split()}
_WORD = re.compile(r"[a-z0-9]+")
_STEMMERS = threading.local()  # a snowball stemmer keeps state while it stems: one per thread
_KEEP_AS_IS = frozenset("news always perhaps his hers its yes us does goes".split())
_PERSON_PREFIX = "npc:"
_PERSON_GROUPS = frozenset({"people", "you"})


@dataclass(frozen=True)
class Aliases:
    """The world's names for things, as plain values: each group names one thing (an NPC's name and
    role words, a place with its aliases, an item with its aliases). The addressed NPC's own names
    are "you". A single word that belongs to a synonym group stays the group's ("room" is lodging,
    not the guest room)."""

    groups: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (thing, its names); persons as "npc:<slug>"
    own: tuple[str, ...] = ()
    within: tuple[tuple[str, str], ...] = ()  # (thing, the place it is in): "the hatch in the yard" is the hatch

    @functools.cached_property
    def phrases(self) -> dict[tuple[str, ...], str]:
        """Words -> the thing they name (a phrase naming two things names both, joined by "|")."""
        found: dict[tuple[str, ...], set[str]] = {}
        for thing, names in self.groups:
            for name in names:
                words = _name_words(name)
                if _usable(words):
                    found.setdefault(words, set()).add(thing)
        for name in self.own:
            words = _name_words(name)
            if words:
                found[words] = {"you"}
        return {words: "|".join(sorted(things)) for words, things in found.items()}

    @functools.cached_property
    def digest(self) -> str:
        """A short hash of every name: what a decision made with these aliases is keyed by."""
        return hashlib.sha1(repr((self.groups, self.own, self.within)).encode()).hexdigest()[:16]

    @functools.cached_property
    def longest(self) -> int:
        return max((len(words) for words in self.phrases), default=0)

    def words_of(self, thing: str) -> frozenset[str]:
        """The stems of every name of a thing ("lute" for the lute strings: "strings for a lute")."""
        return self._words_by_thing.get(thing, frozenset())

    @functools.cached_property
    def _words_by_thing(self) -> dict[str, frozenset[str]]:
        found: dict[str, set[str]] = {}
        for words, thing in self.phrases.items():
            found.setdefault(thing, set()).update(stem(w) for w in words)
        return {thing: frozenset(words) for thing, words in found.items()}

    @functools.cached_property
    def vocabulary(self) -> frozenset[str]:
        return frozenset(word for words in self.phrases for word in words)


def _name_words(name: str) -> tuple[str, ...]:
    text = name.lower().replace("\u2019", "'")
    text = re.sub(r"'s\b", "", text)
    return tuple(w for w in _WORD.findall(text) if w not in {"the", "a", "an", "of"} or False)


def _usable(words: tuple[str, ...]) -> bool:
    if not words:
        return False
    if len(words) > 1:
        return True
    word = words[0]
    return word not in _GROUP_OF and word not in SOFT and word not in NEUTRAL and len(word) > 2


@functools.lru_cache(maxsize=32768)  # words recur from line to line; each stemmer call is a pure-Python Snowball run
def stem(word: str) -> str:
    if word in _KEEP_AS_IS or len(word) <= 3:
        return word
    stemmer = getattr(_STEMMERS, "english", None)
    if stemmer is None:
        stemmer = _STEMMERS.english = snowballstemmer.stemmer("english")
    return stemmer.stemWord(word)


def plain_words(line: str, *, names: tuple[str, ...] = ()) -> list[str]:
    """The line's words: lower case, vocatives dropped, slang and contractions spelled out,
    punctuation gone."""
    text = line.lower().replace("\u2019", "'").replace("`", "'")
    text = strip_vocatives(text, names)
    text = re.sub(r"\b(\w+)'ll\b", r"\1 will", text)
    for pattern, repl in CONTRACTIONS[:-1]:  # the possessive "'s" becomes a word break below
        text = re.sub(pattern, repl, text)
    return " ".join(SLANG.get(w, w) for w in _WORD.findall(text)).split()


def spelled_out(line: str, *, names: tuple[str, ...] = (), vocabulary: frozenset[str] = frozenset()) -> str:
    """The line as plain words (`plain_words`), typing slips mended and idioms read."""
    text = " ".join(_mended(w, vocabulary) for w in plain_words(line, names=names))
    text = _WHERE_TO_GET.sub(" whereget ", text)  # "where does a bard buy strings": who sells them
    text = _WHO_SELLS.sub(" sell ", text)
    text = _NOT_WANTED.sub(" ", text)
    text = _KEEP_DOING.sub("", text)  # "why does the toll keep going up": why it goes up  # "i do not need a room, i need work": not the room
    text = _DESCRIBE.sub(r"what \1 \2", text)  # "what was he like": tell me about him
    text = _HOW_IS.sub("wellbeing ", text)  # "how is the cook" asks after them, not about them
    text = _IDIOM.sub(lambda m: _IDIOM_MEANING[m.group(0)], text)
    return " ".join(text.split())


_IDIOM_MEANING = dict(IDIOMS)
_IDIOM = re.compile(r"\b(?:" + "|".join(re.escape(phrase) for phrase, _ in IDIOMS) + r")\b")


_WHERE_TO_GET = re.compile(r"\bwhere (?:can |could |do |does |would |might |should |to |is )?(?:i |you |one |we |a \w+ |someone |anyone |a body )?"
                           r"(?:get|buy|find|purchase|pick up|come by)\b")
_WHO_SELLS = re.compile(r"\b(?:is there )?(?:anyone|anybody|someone|somebody)(?: \w+){0,3} (?:who|that) (?:sells|sell|has|stocks)\b")
_KEEP_DOING = re.compile(r"\bkeeps? (?=\w+ing\b)")
_NOT_WANTED = re.compile(r"\b(?:do|does|did) not (?:need|want) (?:a |an |any |the |some )?\w+")
_HOW_IS = re.compile(r"\bhow (?:is|are|was|were) (?=(?:the|your|my|his|her|their|old|young|\w+)\b)")
_DESCRIBE = re.compile(r"\bwhat (is|was|are|were) (.+?) like\b")
_PREPOSITIONS = frozenset("before after than behind".split())
_OFFERING = frozenset("serv pour offer stock sell have got charg keep brew cook play sing perform".split())


@dataclass(frozen=True)
class Signature:
    known: tuple[str, ...]  # sorted, distinct
    unknown: tuple[str, ...]  # sorted, distinct stems of no group
    full: tuple[str, ...] = ()  # every concept, the weak ones too: what an exemplar must share exactly

    @property
    def empty(self) -> bool:
        return not self.known and not self.unknown

    def key(self) -> str:
        """The reply cache key of every line with exactly this signature."""
        text = ",".join(self.known) + ";" + ",".join(self.unknown)
        return "s:" + hashlib.sha1(text.encode()).hexdigest()[:24]

    def full_key(self) -> str:
        """Every concept, the weak ones too: how a line is found to mean just what an exemplar means."""
        return "f:" + hashlib.sha1(",".join(self.full).encode()).hexdigest()[:24]


def signature(line: str, *, names: tuple[str, ...] = (), aliases: Aliases = Aliases()) -> Signature:
    """The line's signature (empty when nothing distinctive is left)."""
    known, unknown = set(), set()
    for concept, is_known in concepts(line, names=names, aliases=aliases):
        (known if is_known else unknown).add(concept)
    named = _names_in(line, names)
    if "third" in known and (named or known & _PERSON_GROUPS - {"you"} or unknown & _KIN_STEMS
                             or any(c.startswith(_PERSON_PREFIX) for c in known)):
        known.discard("third")  # "he" has its person in the line itself
    if "work" in known:
        known.discard("money")  # earning coin is work
    if "rumour" in known:
        known.discard("people")  # what folk are saying is the gossip
    if "whereget" in known:  # who sells a named thing; but "where can I get a drink" asks where
        known.discard("whereget")
        known.add("sell" if _things(known) else "where")
    if "third" in known and _things(known):
        known.discard("third")  # "who has got them": the thing named in the line
    full = frozenset(known) | frozenset(unknown)
    if "sell" in known and not any(c.startswith("item:") for c in known):
        known.add("forsale")  # "is this tavern for sale" is not "tell me about this tavern"
    if known - WEAK - {"forsale"} or unknown:
        known -= WEAK  # "do you sell rope": rope; "what are you selling": the wares
    if "your" in known and not known - {"your"} - ASPECTS - MODIFIERS - WEAK and not unknown:
        known.add("you")  # "what is your name": the name is "yours"; "your lute": the lute
    unknown -= {word for thing in known if ":" in thing for word in aliases.words_of(thing)}
    known -= {place for thing, place in aliases.within if place in known and any(thing in c.split("|") for c in known)}
    if "you" in known and known - {"you"} - ASPECTS - MODIFIERS - WEAK and _asks_what(line):
        known.add("what")  # "what are you drinking" is not "do you drink"
    return Signature(known=tuple(sorted(known)), unknown=tuple(sorted(unknown)), full=tuple(sorted(full)))


_KIN_STEMS = frozenset(stem(w) for w in KIN)


def _asks_what(line: str) -> bool:
    return bool(re.match(r"\W*(what|which|whatcha|wat|wot)\b", line.lower()))


def _things(known: set[str]) -> bool:
    return any(":" in c and not c.startswith(_PERSON_PREFIX) for c in known)


def _names_in(line: str, names: tuple[str, ...]) -> bool:
    """Whether the line names someone: a capitalised word that does not begin a sentence."""
    own = {n.lower() for n in names}
    words = re.findall(r"(?<![.!?:]\s)(?<!^)\b([A-Z][a-z]+)", line.strip())
    return any(w.lower() not in own and w not in {"I", "Captain"} for w in words)


def concepts(line: str, *, names: tuple[str, ...] = (), aliases: Aliases = Aliases()) -> list[tuple[str, bool]]:
    """The line's concepts in order, each with whether it is known (a group or a thing of the world)."""
    tokens = spelled_out(line, names=names, vocabulary=aliases.vocabulary).split()
    found: list[tuple[str, bool]] = []
    i = 0
    while i < len(tokens):
        thing, length = _thing_at(tokens, i, aliases)
        if thing is not None:
            found.append((thing, True))
            i += length
            continue
        token = tokens[i]
        i += 1
        group = _GROUP_OF.get(token) or _GROUP_OF.get(stem(token))
        if group == "who" and i < len(tokens) and tokens[i] in {"do", "does", "did"}:
            group = "whom"  # "who does Tobias owe" asks another thing than "who owes Tobias"
        if group == "you" and i < len(tokens) and stem(tokens[i]) in _OFFERING:
            continue  # "what are you serving": what is served, not who serves it
        if group == "you" and i >= 2 and tokens[i - 2] in _PREPOSITIONS:
            group = "youto"  # "who was here before you" is not "who were you before"
        if group is not None:
            found.append((group, True))
        elif token not in SOFT and token not in NEUTRAL:
            found.append((stem(token), False))
    return found


def _thing_at(tokens: list[str], i: int, aliases: Aliases) -> tuple[str | None, int]:
    for length in range(min(aliases.longest, len(tokens) - i), 0, -1):
        thing = aliases.phrases.get(tuple(tokens[i:i + length]))
        if thing is not None:
            return thing, length
    return None, 0


# --- typing slips --------------------------------------------------------------------------------
def slips_mended(text: str, vocabulary: frozenset[str] = frozenset()) -> str:
    """The text with its typing slips and chat spellings put right, word for word, the rest as it
    was ("how mutch is a rooom" -> "how much is a room", "wat drinks u got" -> "what drinks you
    got"): what the matchers embed, since a slip moves a short line's embedding far more than its
    meaning (the slipped line's nearest question was "Tell me about the town", 0.28)."""
    def mend(match: re.Match) -> str:
        word = match.group(0)
        lowered = word.lower()
        right = SLANG.get(lowered) or _mended(lowered, vocabulary)
        return word if right == lowered else right
    return _SLIPPABLE.sub(mend, text)


_SLIPPABLE = re.compile(r"[A-Za-z]+")


def _mended(word: str, vocabulary: frozenset[str]) -> str:
    """A word that is no English word but one edit away from exactly one word the cache knows
    ("rooom", "gosip", "posion") is read as that word."""
    if len(word) < 3 or word.isdigit() or word in _known_words() or word in vocabulary or word in english_words():
        return word
    near = _near(word, vocabulary)
    return near if near is not None else word


@functools.lru_cache(maxsize=1)
def _known_words() -> frozenset[str]:
    words = set(_GROUP_OF) | set(SOFT) | set(NEUTRAL) | set(SLANG.values())
    for phrase, meaning in IDIOMS:
        words.update(phrase.split())
        words.update(meaning.split())
    return frozenset(w for w in words if w.isalpha())


@functools.lru_cache(maxsize=4096)
def _near(word: str, vocabulary: frozenset[str]) -> str | None:
    found = {w for w in _candidates(word, _deletions(_known_words())) | _candidates(word, _deletions(vocabulary))
             if _one_edit(word, w)}
    return found.pop() if len(found) == 1 else None


def _candidates(word: str, index: dict[str, frozenset[str]]) -> set[str]:
    """Words one deletion (on either side) away from `word`: every word one edit away is among them."""
    found: set[str] = set()
    for variant in {word, *(word[:i] + word[i + 1:] for i in range(len(word)))}:
        found |= index.get(variant, frozenset())
    return found


@functools.lru_cache(maxsize=16)
def _deletions(words: frozenset[str]) -> dict[str, frozenset[str]]:
    """Each word, and each word with one letter deleted -> the words it comes from."""
    index: dict[str, set[str]] = {}
    for w in words:
        if len(w) >= 3:
            for variant in {w, *(w[:i] + w[i + 1:] for i in range(len(w)))}:
                index.setdefault(variant, set()).add(w)
    return {variant: frozenset(found) for variant, found in index.items()}


def _one_edit(a: str, b: str) -> bool:
    """One insertion, deletion, substitution or swap of neighbours turns `a` into `b`."""
    if a == b:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


def signature_warm() -> None:
    """Read the word lists and build their indexes now (a background job's first step), not on a
    player's line."""
    english_words()
    _deletions(_known_words())
    exemplar_signatures()


@functools.lru_cache(maxsize=1)
def exemplar_signatures() -> dict[str, str]:
    """Signature key -> the canonical question whose exemplar has exactly that signature (when only
    one has): a line that means just what an exemplar means asks its question."""
    from .questions import QUESTIONS

    owners: dict[str, set[str]] = {}
    for question in QUESTIONS:
        for text in question.exemplars:
            found = signature(text)
            if not found.empty:
                owners.setdefault(found.full_key(), set()).add(question.key)
    return {key: next(iter(keys)) for key, keys in owners.items() if len(keys) == 1}
