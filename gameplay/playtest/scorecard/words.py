"""The words of a reply as the scorecard reads them: amounts of gold in digits or words, text
normalised for comparing, a phrase said or not, sentences."""
from __future__ import annotations

import re

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_NUMBERS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
_NUMBERS.update({"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
                 "a hundred": 100, "one hundred": 100, "hundred": 100, "a thousand": 1000, "thousand": 1000,
                 "a single": 1, "single": 1, "a couple of": 2, "a dozen": 12, "dozen": 12, "half a dozen": 6})
_NUM = (r"(?:\d+|(?:a|one|two|three|four|five|six|seven|eight|nine) hundred|(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)[- ](?:one|two|three|four|five|six|seven|"
        r"eight|nine)|" + "|".join(sorted((re.escape(w) for w in _NUMBERS), key=len, reverse=True)) + ")")
_AMOUNT = re.compile(rf"\b({_NUM})\s*(?:-\s*)?(gold|gp|crowns?|coins?|silver|coppers?)\b", re.I)
_QTY_BEFORE = re.compile(rf"\b({_NUM}|an?)\s+$", re.I)


def _number(text: str) -> int:
    text = text.lower().replace("-", " ").strip()
    if text.isdigit():
        return int(text)
    if text in _NUMBERS:
        return _NUMBERS[text]
    first, _, second = text.partition(" ")
    if second == "hundred":
        return 100 * _NUMBERS.get(first, 1)
    return _NUMBERS.get(first, 0) + _NUMBERS.get(second, 0)


def _norm(text: str) -> str:
    return " ".join(_WORD.findall(text.lower().replace("\u2019", "'")))


_CONTRACTIONS = ((r"\bi'm\b", "i am"), (r"\byou're\b", "you are"), (r"\bit's\b", "it is"), (r"\bthat's\b", "that is"),
                 (r"\bhere's\b", "here is"), (r"\bwe're\b", "we are"), (r"\bi've\b", "i have"))


def _plain(text: str) -> str:
    text = text.lower().replace("\u2019", "'")
    for short, long in _CONTRACTIONS:
        text = re.sub(short, long, text)
    return text


def _has(text: str, phrase: str) -> bool:
    """`phrase` said in `text`: whole words, any case, contractions spelt out ("I'm" is "I am"), a
    plural -s/-es allowed; a phrase with no letter or digit at its edges (a code fence, a brace) is
    looked for as it is."""
    phrase = phrase.strip().lower()
    if not phrase:
        return False
    if not (phrase[0].isalnum() and phrase[-1].isalnum()):
        return phrase in text.lower()
    return re.search(rf"(?<![a-z0-9]){re.escape(_plain(phrase))}(?:s|es)?(?![a-z0-9])", _plain(text)) is not None


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+|\n+", text) if s.strip()]
