"""In character or not: the out-of-character markers of a reply (words from outside the world,
chat-template tokens, turn labels, speaking for the player or as another NPC, echoing the player,
not English). Counted by the in-character figures."""
from __future__ import annotations

import re

from .facts import Facts
from .words import _WORD, _norm, _sentences

_OOC_WORDS = re.compile(
    r"\b(as an ai|an ai\b|ai (?:language )?model|language model|artificial intelligence|assistant|chat ?bot|"
    r"i'm a bot|i am a bot|as a bot|system prompt|my prompt|the prompt|your prompt|my instructions|my programming|"
    r"i am programmed|i'm programmed|openai|chatgpt|gpt-?\d|llm|smollm|hugging ?face|neural network|role-?play|"
    r"in character|out of character|fictional character|the user|npc|non-player|video game|text adventure|"
    r"assist you|(?:can't|cannot|unable to) assist|in the style of|here(?: is|'s) (?:a|my) response)\b", re.I)
_OOC_FORMS = re.compile(r"\bresponse:|\(\s*as [a-z]+\s*\)", re.I)  # "Gareth's response:", "(as Gareth)"
_PLAYER_ACTS = re.compile(r"\W*(?:you|the player|the traveller)\s+(?:(?:nod|smile|grin|laugh|shrug|sigh|hand|pay|thank|"
                          r"agree|replie|answer|sit|drink|lean|walk|decide|feel)s?\b|(?:say|ask|reply)s?[,:]?\s*[\"'“])",
                          re.I)
_OOC_CASED = re.compile(r"\bA\.?I\b\.?")  # "AI" in capitals; "ai" in lower case is too rare to need
_TEMPLATE = re.compile(r"<\|[^|>]{0,40}\|>|</?s>|\[/?INST\]|<<\/?SYS>>|<start_of_turn>|<end_of_turn>|^#{2,}\s", re.I | re.M)
_LABELS = ("user", "assistant", "system", "player", "human", "ai", "you", "me", "narrator", "bot", "model",
           "character", "customer", "stranger", "traveller", "traveler", "patron", "guest", "npc")
_ENGLISH = frozenset(
    "the a an and or but if of to in on at by for with from as is are was were be been am i you he she it we they me "
    "him her us them my your his its our their this that these those there here what who how why when where which "
    "not no yes do does did have has had will would can could shall should may might must so too very just all any "
    "some one up out down over about into than then now well oh ah aye friend love".split())


def ooc_markers(reply: str, line: str, npc: str, facts: Facts) -> list[str]:
    """The out-of-character markers of a reply to `line` by `npc` (empty: in character)."""
    text = reply.strip()
    if not re.search(r"[^\W\d_]", text):
        return ["empty"]
    found = []
    if m := _OOC_WORDS.search(text) or _OOC_FORMS.search(text) or _OOC_CASED.search(text):
        found.append(f"out-of-world words '{m.group(0)}'")
    if m := _TEMPLATE.search(text):
        found.append(f"chat-template token '{m.group(0).strip()}'")
    labels = set(_LABELS) | {n for names in facts.npcs.values() for n in names}
    for m in re.finditer(r"(?:^|\n)\s*[*\[(]?([A-Za-z][A-Za-z' ]{0,24}?)[*\])]?\s*:", text):
        if m.group(1).strip().lower() in labels:
            found.append(f"a turn label '{m.group(1).strip()}:'")
            break
    if any(_PLAYER_ACTS.match(sentence) and not sentence.rstrip().endswith("?") for sentence in _sentences(text)):
        found.append("speaks for the player")
    said, heard = _norm(text), _norm(line)
    if heard and (said == heard or (len(heard.split()) >= 4 and f" {heard} " in f" {said} ")):
        found.append("echoes the player's line")
    for other, names in facts.npcs.items():
        if other != npc and any(re.search(rf"\b(?:i am|i'm|my name is|name's|call me|this is)\s+{re.escape(n)}\b", said)
                                for n in names):
            found.append(f"speaks as {other}")
    if not _english(text, facts):
        found.append("not English")
    return found


def _english(text: str, facts: Facts) -> bool:
    """Latin letters, and (from eight words on) at least a quarter of the words common English words or
    words of the world's own text; a list of tavern nouns is English, a paragraph of German is not."""
    letters = re.findall(r"[^\W\d_]", text)
    if letters and sum(ch.isascii() for ch in letters) / len(letters) < 0.8:
        return False
    words = _WORD.findall(text.lower())
    known = sum(w in _ENGLISH or w in facts.vocabulary or w in facts.names for w in words)
    return len(words) < 8 or known / len(words) >= 0.25
