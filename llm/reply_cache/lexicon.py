"""Words that change what a tavern question means: the reply cache's guard against near-misses.

A sentence embedding measures topic, not intent ("What's in the stew today?" and "What was in the
stew yesterday?" score 0.94, docs/benchmarks.md). So before two lines may share a reply, their
distinctive words are compared: the topic (eat or drink, a room or a job), the specific thing
(ale or cider), the question word (where or what), the time (today, yesterday, tomorrow), tense,
negation, requests, numbers and names. `line_words` reduces a line to its content words (stems),
each tagged with its class, or with no class when the word is merely unknown.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

# Multi-word expressions that mean one thing; replaced by one token before splitting.
PHRASES: tuple[tuple[str, str], ...] = (
    ("how much", "howmuch"), ("how many", "howmany"), ("how long", "howlong"), ("how old", "howold"),
    ("how far", "howfar"), ("how do you do", "howdoyoudo"), ("good night", "goodnight"),
    ("good morning", "goodmorning"), ("good evening", "goodevening"), ("good afternoon", "goodafternoon"),
    ("good day", "goodday"), ("well met", "wellmet"), ("thank you", "thankyou"), ("see you", "seeyou"),
    ("take care", "takecare"), ("last night", "lastnight"), ("next week", "nextweek"),
    ("these days", "now"), ("used to", "usedto"), ("going to", "will"), ("gonna", "will"),
    ("who else", "whoelse"), ("to be had", "available"), ("how is it going", "howsitgoing"),
    ("how goes it", "howsitgoing"), ("how goes", "howsitgoing"),
)

CONTRACTIONS: tuple[tuple[str, str], ...] = (
    (r"\bcan't\b", "can not"), (r"\bwon't\b", "will not"), (r"\bshan't\b", "shall not"), (r"n't\b", " not"),
    (r"\blet's\b", "let us"), (r"\b(what|who|where|when|why|how|it|that|there|here|he|she)'s\b", r"\1 is"),
    (r"'re\b", " are"), (r"'ve\b", " have"), (r"'ll\b", " will"), (r"'d\b", " would"), (r"\bi'm\b", "i am"),
    (r"'s\b", " s"),  # a possessive: "the cook's name" keeps "cook" as its own word
)

CLASSES: dict[str, str] = {
    # question words
    "wh_what": "what which", "wh_who": "who whom whose", "wh_where": "where whereabouts", "wh_when": "when",
    "wh_why": "why", "wh_how": "how", "price": "howmuch howmany cost price charge expensive cheap fee rate",
    "duration": "howlong howold howfar since year age old",
    # topics
    "tell": "tell describe explain know", "name": "name named", "call": "call called",
    "drink": "drink thirsty thirst tap beverage booze pouring pour",
    "drink_item": "ale beer wine mead cider rustgut whisky whiskey rum grog spirit liquor tea water milk pint mug cup glass bottle",
    "food": "eat food hungry hunger meal dish cook cooking snack grub menu",
    "food_item": "stew pie bread cheese soup meat cake pickle mutton beef pork fish chicken porridge egg apple",
    "meal_time": "breakfast lunch supper dinner",
    "lodging": "room bed sleep sleeping stay lodging lodge rent board bunk quarters let",
    "rumour": "rumour rumor gossip news heard hear hearing talk talking word latest happening",
    "work": "work working job hire hiring hired task errand employment chore gig",
    "money": "coin gold silver copper money earn wage cash pay paid",
    "town": "town village city neighbourhood neighborhood region area",
    "vicinity": "around nearby local",
    "tavern": "tavern inn place establishment tankard pub alehouse taproom rusted",
    "people": "people folk regular customer patron crowd everyone everybody guest whoelse drinker",
    "greeting": "hello hi hey hiya greeting goodday goodmorning goodevening goodafternoon wellmet hail howdy howdoyoudo",
    "wellbeing": "well fine fare faring keeping howsitgoing",
    "farewell": "goodbye bye farewell goodnight seeyou takecare leave leaving off",
    "thanks": "thank thankyou cheers obliged appreciate appreciated grateful",
    # what turns a question into another one
    "neg": "not no never nothing nobody none without nor neither",
    "request": "want buy sell order give bring fetch purchase need",
    "third": "he she him her his hers they them their theirs someone somebody man woman fellow lady girl boy guy lad lass",
    "family": "wife husband son daughter brother sister family child children father mother uncle aunt cousin",
    "now_time": "now today tonight currently presently",
    "past_time": "yesterday ago lastnight before earlier formerly previously last usedto once",
    "future_time": "tomorrow later soon next nextweek someday",
    "daypart": "morning afternoon evening night",
    "tense_past": "was were did had",
    "tense_future": "will shall",
    "deictic": "it that those",
    "you": "you your yourself yours ur u ye thee thou thy",
    "mine": "my mine",
    "number": "one two three four five six seven eight nine ten eleven twelve first second third fourth fifth",
}

# Words that carry no meaning of their own in a question to an NPC.
NEUTRAL = frozenset("""
a an the to of in on at for with about from by and or but so then is are am be been being any anything
some something there here this these i me we us our please say just
really actually can could would should may might must let also too very much oh ah um er right okay ok
anyway if as into up
""".split())

# Words by which a player addresses whoever they speak to, at the start or end of a line.
VOCATIVES = ("barkeep", "barkeeper", "innkeeper", "friend", "sir", "madam", "mate", "miss", "lad", "lass",
             "stranger", "traveller", "good sir", "my friend", "old friend", "old man", "mistress", "master")

_CLASS_OF: dict[str, str] = {word: name for name, words in CLASSES.items() for word in words.split()}
_NOT_PLURAL = frozenset("news this his is was has does yes us always perhaps plus whereabouts kindness business "
                        "less bus its hers theirs yours thanks cheers alas lass".split())
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Word:
    stem: str
    cls: str | None  # None: a content word of no known class


def stem(word: str) -> str:
    """A crude, predictable stem: plurals only (drinks, rooms, rumours, stories)."""
    if word in _NOT_PLURAL or len(word) <= 3:
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def normalise(line: str, *, names: tuple[str, ...] = ()) -> str:
    """Lower case, contractions spelled out, vocatives ("Gareth, ..." / "..., barkeep?") and
    punctuation removed, phrases joined, spaces collapsed."""
    text = line.lower().replace("\u2019", "'").replace("`", "'")
    text = strip_vocatives(text, names)
    for pattern, repl in CONTRACTIONS:
        text = re.sub(pattern, repl, text)
    text = " ".join(_WORD.findall(text))
    for phrase, token in PHRASES:
        text = re.sub(rf"\b{phrase}\b", token, text)
    return text


def strip_vocatives(text: str, names: tuple[str, ...]) -> str:
    options = "|".join(re.escape(v) for v in sorted({*VOCATIVES, *(n.lower() for n in names if n)}, key=len, reverse=True))
    lead = rf"^\s*(?:(?:oi|hey|ho|say|so|and|well|now),?\s+)?(?:{options})\s*[,!:;.-]+\s*"
    tail = rf"\s*,\s*(?:my\s+|good\s+|old\s+|dear\s+)?(?:{options})\s*([?.!]*)\s*$"
    text = re.sub(lead, "", text)
    return re.sub(tail, r"\1", text)


def line_words(line: str, *, names: tuple[str, ...] = ()) -> tuple[Word, ...]:
    """The line's content words in order, each with its class (or None)."""
    words = []
    for token in normalise(line, names=names).split():
        if token in NEUTRAL:
            continue
        cls = _CLASS_OF.get(token)
        root = stem(token) if cls is None else token
        words.append(Word(root, cls if cls is not None else _CLASS_OF.get(root)))
    return tuple(words)
