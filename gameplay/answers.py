"""Answers the game knows, to questions a player puts to an NPC: its own name, what a thing costs,
what there is to drink or eat, the work going, the gossip of the day, the next step of a bounty, how
the games are played (those about the house's goods, prices, rooms and games are in
gameplay/answers_goods.py, those about the tavern's people in gameplay/answers_people.py). The default 135M model got them wrong ("Moses.
I'm a mason." for Gareth's name, kept in the reply cache and served to everyone; "That is a glass of
wine." for its price), so the reply path holds it to them as it does to a fact the player asks back
(gameplay/voice_prompt.py, docs/llm.md "Asked what the game knows"): the moment tells the model the
answer, its first sentence must say one of `words`, and when it does not, the game says `said`."""
from __future__ import annotations

import random
import re
from dataclasses import dataclass

from npcs.persona import NpcDef, name_words, names_pattern, own_name_asked, own_possessive, role_nouns, says_any, tier_at_least

from .answers_places import place_asked, place_told, place_words
from .answers_people import (
    owner_asked, owner_said, patron_asked, patrons_in, people_asked, people_told, person_asked, person_told, person_words,
    present_asked, present_people, present_said, present_words, self_asked, self_told, whereabouts_asked, whereabouts_said,
)
from .answers_goods import (
    ASKING, cheapest_asked, described_asked, described_said, described_words, games_asked, games_said, games_words, goods_asked,
    goods_here, goods_said, lodging_asked, lodging_said, offered_drink, offered_said, offered_words, places_here, price_asked,
    price_words, prices_asked, prices_said, ranked_asked, ranked_said, recommended_asked, recommended_said, recommended_words,
    wanted_asked, wanted_said,
)
from .rules import clock
from .rules.lookup import listed, place_in


@dataclass(frozen=True)
class GameAnswer:
    moment: str  # what the moment tells the model
    words: tuple[str, ...]  # a reply's first sentence must say one of these
    said: str  # what the game says when it does not


def game_answer(plan, npc: NpcDef, world, *, said_before: tuple[str, ...] = (), topic: str = "") -> GameAnswer | None:
    """The first answer the line asks for that the game knows, or None. `said_before`: the NPC's
    replies so far in this conversation (a rumour is not told twice). `topic`: the line with the
    player's line before it, when this one hangs on it ("and how much would that be?" after asking
    for a room: gameplay/voice_prompt.topic_of)."""
    if plan.reported:  # the word itself reports a bounty done: the rules pay it as the reply ends
        said = _voiced(plan, "report", "Good work; thank you for seeing to it.")
        return GameAnswer(f"The traveller has come back to tell you it is done: {plan.reported[0]}. Thank them for it; "
                          "the reward is paid over the bar.", REPORT_WORDS, said)
    task = task_asked(plan.line, plan.tasks)
    if task is not None:
        title, step, whose = task
        said = _voiced(plan, "task", OPENINGS["task"][0] + in_own_voice(step, npc))
        said = f"That's {whose}'s notice, not mine. {said}" if whose else said
        notice = f"{whose}'s" if whose else "your"
        return GameAnswer(f"The traveller took on {notice} notice '{title}' and asks what to do; tell them: {said}",
                          task_words(step, npc, line=plan.line), said)
    notice = notice_asked(world, plan, npc)
    if notice is not None:
        said, words = notice_said(notice, npc, plan)
        return GameAnswer(f"The traveller asks about your notice '{notice.title}'; tell them: {said}", words, said)
    if own_name_asked(plan.line):
        said = _voiced(plan, "name", f"{npc.name}, the {npc.role}.", name=npc.name, role=npc.role)
        return GameAnswer(f"The traveller asks who you are; tell them your name, {npc.name}.", name_words(npc), said)
    told = self_told(plan, npc) if self_asked(plan.line) else ""
    if told:
        return GameAnswer(f"The traveller asks about you; tell them: {told}", (*name_words(npc), *role_nouns(npc.role)), told)
    ranked = ranked_asked(world, plan, npc)
    if ranked is not None:
        said = ranked_said(ranked, cheapest=cheapest_asked(plan.line), line=plan.line)
        return GameAnswer(f"The traveller asks what costs the least or the most; tell them: {said}", price_words((ranked,)), said)
    liked = recommended_asked(world, plan, npc)
    if liked:
        said = recommended_said(liked, npc)
        return GameAnswer(f"The traveller asks what is good here; tell them: {said}", recommended_words(liked), said)
    drink = offered_drink(world, plan, npc)
    if drink is not None:
        said = offered_said(drink, npc)
        return GameAnswer(f"The traveller offers to buy you a drink; take it, and tell them: {said}", offered_words(drink), said)
    priced = prices_asked(world, plan.line)
    if not priced and topic and topic != plan.line and price_asked(plan.line):
        if lodging_asked(topic) and "room-key" in world.items:  # "and how much would that be?" of a room
            return _lodging_answer(world, npc)
        priced = prices_asked(world, topic)
    if priced:
        return GameAnswer(f"The traveller asks what it costs; tell them: {prices_said(priced)}", price_words(priced),
                          prices_said(priced))
    wanted = wanted_asked(world, plan.line)
    if wanted:
        said = wanted_said(world, wanted, npc)
        return GameAnswer(f"The traveller wants to buy; tell them: {said}", price_words(wanted), said)
    about = described_asked(world, plan.line)
    if about is not None:
        said = described_said(about, npc)
        return GameAnswer(f"The traveller asks about the {about.name}; tell them: {said}", described_words(about, plan.line), said)
    goods = goods_here(world, plan.situation, goods_asked(plan.line))
    if goods:  # any of the house's goods of that kind answers: Magda in the kitchen speaks of the stew sold at the bar
        line_words = _words3(plan.line)  # "Got anything that isn't ale?" is not answered by "ale" nor "a mug of ale"
        words = tuple(a for item in world.items.values() if item.kind == goods[0].kind and item.price > 0 for a in item.aliases
                      if not _words3(a) & line_words)
        said = _voiced(plan, "goods", goods_said(goods))
        return GameAnswer(f"The traveller asks what you have; tell them: {said}", words, said)
    if lodging_asked(plan.line) and "room-key" in world.items:
        return _lodging_answer(world, npc)
    if games_asked(plan.line) and "dealer" in role_nouns(npc.role):
        said = games_said(world)
        return GameAnswer(f"The traveller asks how the games are played; tell them: {said}", games_words(world), said)
    jobs = jobs_offered(world, plan, npc) if work_asked(plan.line) else ()
    if jobs:
        said = jobs_said(world, plan, jobs, speaker=npc)
        said = _voiced(plan, "work", said) if said.startswith(OPENINGS["work"][0]) else said
        return GameAnswer(f"The traveller asks for work; tell them: {said}", job_words(jobs), said)
    if present_asked(plan.line):
        others, patrons = present_people(world, plan.situation), patrons_in(plan.situation)
        said = present_said(others, patrons)
        said = _voiced(plan, "present", said) if others or patrons else said
        return GameAnswer(f"The traveller asks who is here; tell them: {said}", present_words(others, patrons), said)
    if people_asked(plan.line):
        said, words = people_told(world, plan, npc)
        return GameAnswer(f"The traveller asks about the people of the house; tell them: {said}", words, said)
    place = place_asked(world, plan.line)
    if place is not None:
        said = place_told(place)
        return GameAnswer(f"The traveller asks what {place.name} is like; tell them: {said}", place_words(place, plan.line), said)
    sought = whereabouts_asked(world, plan.line, speaker=npc)
    if sought is not None:
        said, words = whereabouts_said(world, plan, sought)
        return GameAnswer(f"The traveller asks where {sought.name} is; tell them: {said}", words, said)
    owner = owner_said(world, npc) if owner_asked(plan.line) else None
    if owner is not None:
        said, words = owner
        return GameAnswer(f"The traveller asks who owns the house; tell them: {said}", words, said)
    person = person_asked(world, plan.line, speaker=npc)
    told = person_told(plan, npc, person) if person is not None else ""
    if told:
        return GameAnswer(f"The traveller asks about {person.name}; tell them: {told}", person_words(person), told)
    patron = patron_asked(plan.line, patrons_in(plan.situation))
    if patron:
        said = f"{patron}? A traveller, like yourself, here in the room with us."
        return GameAnswer(f"The traveller asks about {patron}, another traveller here; tell them: {said}", (patron,), said)
    if guidance_asked(plan.line):
        said = guidance_said(world)
        return GameAnswer(f"The traveller is new and asks what to do; tell them: {said}", GUIDANCE_WORDS, said)
    if farewell_said(plan.line):
        said = _voiced(plan, "farewell", "Safe home, then, and come back soon.")
        return GameAnswer("The traveller is leaving; bid them goodnight.", FAREWELL_WORDS, said)
    known = rumours_known(plan, world=world, npc=npc) if RUMOURS_ASKED.search(plan.line) else ()
    rumour = _rumour_picked(plan, known, said_before)
    if rumour:  # any of its rumours of the day will do
        return GameAnswer(f"The traveller asks for gossip; tell them: {rumour}", rumour_words(*known), gossip_said(plan, rumour))
    return None


def _lodging_answer(world, npc: NpcDef) -> GameAnswer:
    said = lodging_said(world, npc)
    return GameAnswer(f"The traveller asks about a room; tell them: {said}", price_words((world.items["room-key"],)), said)


# How the game has an NPC say what it knows: the first form, or another, by the turn's seed, so that
# two players asking the same thing do not hear the very same words.
OPENINGS = {
    "goods": ("There's ", "We've ", "You can have "),
    "work": ("I could use someone ", "If it's work you want, I could use someone ", "You could earn a little: I need someone "),
    "gossip": ("Between us: ", "Have you heard? ", "Word going round is this: "),
    "present": ("Here just now: ", "You'll find ", "Look around: "),
    "report": ("Good work; ", "Well done; ", "That's a weight off my mind; "),
    "farewell": ("Safe home, then, ", "Mind how you go, ", "Off with you, then, "),
    "task": ("Next: ", "What you want now: ", "Here's the next of it: "),
}
REPORT_WORDS = ("thank", "thanks", "good work", "well done", "grateful", "obliged", "weight off")
NAME_FORMS = ("{name}, the {role}.", "I'm {name}, the {role}.", "{name}, {role}, at your service.")


def _voiced(plan, kind: str, said: str, **values: str) -> str:
    """`said` (in the first form) in the form the turn's seed picks."""
    rng = random.Random(f"{plan.seed}:{kind}")
    if kind == "name":
        return rng.choice(NAME_FORMS).format(**values)
    first, *_ = OPENINGS[kind]
    return rng.choice(OPENINGS[kind]) + said.removeprefix(first)


def gossip_said(plan, rumour: str) -> str:
    return _voiced(plan, "gossip", OPENINGS["gossip"][0] + rumour)


def rumour_in(text: str) -> str:
    """The rumour a gossip answer tells, without its opening."""
    return next((text.removeprefix(o) for o in OPENINGS["gossip"] if text.startswith(o)), text)


# A line asking for work ("Is there any work going?"): a reply must name a job the rules offer (the
# default model answered Gareth's with "No, friend. The morning is done.", though he has two).
_WORK_ASKED = re.compile(r"\b(?:any|some|find|need|needs?|looking for|got|there|have you|offer)\s+(?:\w+\s+)?(?:paid\s+)?(?:work|jobs?)\b|"
                         r"\bjobs?\b|\bwork (?:going|for me|to be had|around here)\b|\bhiring\b|"
                         r"\b(?:earn|make) (?:some |a few |a little |my )?(?:coin|coins|money|gold|keep|silver)\b|"
                         r"\bneed (?:some |a little |a bit of )?(?:coin|money|gold)\b|\b(?:i'?m|i am) (?:broke|skint|short of (?:coin|money))\b|"
                         r"\b(?:help|work) out\b|\b(?:lend|need) a hand\b|\banything i can do\b|\bshort (?:on|of) (?:coin|money|gold)\b|"
                         r"\bmake (?:a bit of|a little|some|a few) (?:money|coin|gold)\b|\b(?:any|some) help\b", re.IGNORECASE)
# The player offering their labour ("I could help out in the kitchen if you pay me") asks for work too.
_LABOUR_OFFERED = re.compile(r"\b(?:i could|i can|i'd|i would|let me)\s+(?:\w+\s+)?(?:help|work|lend|do)\b|\bif you pay me\b",
                             re.IGNORECASE)


def work_asked(line: str) -> bool:
    return bool((ASKING.search(line) or _LABOUR_OFFERED.search(line)) and _WORK_ASKED.search(line))


def jobs_offered(world, plan, npc: NpcDef) -> tuple:
    """The jobs the NPC gives that the player may take (by their standing), else those to be had
    where the player stands."""
    allowed = [j for j in world.jobs.values() if tier_at_least(plan.tier, j.min_tier)]
    own = [j for j in allowed if j.giver == npc.slug]
    here = places_here(world, plan.situation)
    return tuple(sorted(own or [j for j in allowed if j.location in here], key=lambda j: -j.pay))[:3]


def jobs_said(world, plan, jobs: tuple, *, speaker: NpcDef | None = None) -> str:
    """ "I could use someone to wait tables, for 10 gold, or to haul casks in the Cellar, for 8." Work
    another gives is said as theirs: "There's work to be had: to wait tables, for 10 gold (ask Gareth)." """
    here = places_here(world, plan.situation)
    own = speaker is None or all(j.giver == speaker.slug for j in jobs)
    parts = [f"to {j.name}" + ("" if j.location in here else f" {place_in(world.locations[j.location].name)}")
             + f", for {j.pay}" + (" gold" if n == 0 else "")
             + ("" if own or not j.giver or j.giver not in world.npcs else f" (ask {world.npcs[j.giver].name.split()[0]})")
             for n, j in enumerate(jobs)]
    return ("I could use someone " if own else "There's work to be had: ") + listed(parts, ", or ") + "."


def job_words(jobs: tuple) -> tuple[str, ...]:
    """What a reply naming one of these jobs says: its name's own words, or an alias."""
    plain = {"the", "common", "room", "out"}
    return tuple(dict.fromkeys([*(w for j in jobs for w in j.name.split() if len(w) > 3 and w not in plain),
                                *(a for j in jobs for a in j.aliases)]))


# A line asking for the talk of the town: a reply must tell one of the NPC's rumours of the day.
RUMOURS_ASKED = re.compile(r"\b(?:gossip\w*|rumou?rs?|news|word on the street|heard anything|what's new|whispers?)\b", re.IGNORECASE)
_PLAIN = frozenset("""there their they them then than that this these those which what when where while with without
    about would could should every everyone nobody anybody somebody something nothing anything into onto from over
    under after before again once only even just like more most much many some were been being have having does done
    tavern friend people part thing things place night today""".split())


def rumours_known(plan, *, world=None, npc: NpcDef | None = None) -> tuple[str, ...]:
    """The rumours an NPC may tell today: its own; one with none of its own (Gareth on the first day)
    has heard the day's talk of the tavern, but for what is said of the NPC itself (`world`, `npc`:
    without them, its own only)."""
    if plan.situation.rumours or world is None or npc is None:
        return plan.situation.rumours
    day = clock.day_of(plan.minute) % 7
    own = name_words(npc)
    return tuple(r.text for r in world.rumours
                 if (r.days is None or day in r.days) and not says_any(r.text, own))[:RUMOURS_HEARD]


RUMOURS_HEARD = 3  # as many as an NPC's own rumours in its moment (gameplay/rules/situation.py)


def rumour_told(plan, said: tuple[str, ...] = (), *, world=None, npc: NpcDef | None = None) -> str:
    """One of the rumours the NPC may tell today (`rumours_known`) when the line asks for gossip,
    else "": one it has not told in this conversation (`said`: its replies so far), the one sharing
    most words with the line ("what's the gossip on Tobias?"), the same for the same line."""
    if not RUMOURS_ASKED.search(plan.line):
        return ""
    return _rumour_picked(plan, rumours_known(plan, world=world, npc=npc), said)


def _rumour_picked(plan, known: tuple[str, ...], said: tuple[str, ...]) -> str:
    """`rumour_told`'s pick among the rumours known: not told yet, sharing most words with the line."""
    fresh = [r for r in known if not any(r in text for text in said)]
    if not fresh:
        return ""
    line = _words3(plan.line)
    shared = {r: len(line & _words3(r)) for r in fresh}
    best = max(shared.values())
    return random.Random(f"{plan.seed}:rumour").choice([r for r in fresh if shared[r] == best])


def _words3(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-z]{3,}", text)}


def rumour_words(*rumours: str) -> tuple[str, ...]:
    """The words a reply telling one of these rumours will use: their own, not names or common words."""
    return tuple(dict.fromkeys(w for rumour in rumours for w in re.findall(r"(?<![\w'])([a-z][a-z-]{3,})(?![\w'])", rumour)
                               if w not in _PLAIN))


# A player taking leave ("Goodnight, Gareth."): a reply must bid them go (the default model answered
# "It's a moon, friend.").
_FAREWELL = re.compile(r"^\W*(?:(?:ok|okay|right|well|alright|anyway|thanks|thank you|cheers|ta)(?:,? (?:love|friend|mate|all|again))?\W+)*(?:good ?night|good ?bye|bye|farewell|see you|so long|i'?m off|i'?ll be off|i'?d best be off|"
                       r"i (?:must|should|have to|need to) (?:go|be going|be off)|take care|night,? (?:then|all)|cheerio|"
                       r"(?:(?:i )?think )?(?:i'?ll|ill|i'?m going to|i'?m gonna|time to) (?:turn in|head (?:up|off|to bed)|go (?:up )?to bed|"
                       r"get some sleep|hit the hay))\b", re.IGNORECASE)
FAREWELL_WORDS = ("night", "bye", "farewell", "safe", "see you", "take care", "mind how", "come back", "go well", "rest",
                  "sleep", "home", "soon", "tomorrow", "off with you", "away with you", "again")


# A newcomer asking what to do ("im new here, what should i do first?"): the game's ways in.
_GUIDANCE = re.compile(r"\bwhat (?:should|shall|can|do|could|would) (?:i|a (?:newcomer|stranger|traveller)) do\b|"
                       r"\bwhat(?:'s| is) there to do\b|\bwhere (?:do|should|can) i (?:start|begin)\b|\bany (?:advice|tips)\b|"
                       r"\bhow does (?:this place|it all|everything) work\b", re.IGNORECASE)
GUIDANCE_WORDS = ("board", "notice", "jobs", "work", "drink", "hook", "tankard")


def guidance_asked(line: str) -> bool:
    return bool(_GUIDANCE.search(line))


def guidance_said(world) -> str:
    """ "Sit and have a drink, ask after work ('jobs'), or look at the notice board ('board'): ..." """
    said = "Sit and have a drink, ask after work ('jobs'), or look at the notice board ('board') for a task with a reward."
    if world.mystery is not None:
        said += " And if you've sharp eyes, everyone's talking about the empty hook over the bar."
    return said


def farewell_said(line: str) -> bool:
    return bool(_FAREWELL.search(line))


# A player asking the giver of a bounty they hold what to do ("About the rats. What do I need to do?"):
# a reply must say the next step (the default model answered "The rats! They are so much!").
_TASK_ASKED = re.compile(
    r"\bwhat (?:do|should|shall|must|would) (?:i|we) (?:need to |have to |got to )?do\b|\bwhat(?:'s| is)? (?:next|now)\b|"
    r"\bwhat (?:do|did) you (?:need|want) (?:me to do|done|doing)\b|\bwhat (?:needs|has) to be done\b|"
    r"\bwhat(?:'s| is| was) (?:the|my) (?:next |first )?(?:step|task|job)\b|\bwhere (?:do|should) i (?:start|begin)\b|"
    r"\bhow (?:do|can|should|would) (?:i|we) (?:start|begin|go about|deal with|get rid of|see to|do (?:it|that|this))\b|"
    r"\b(?:remind me|tell me again|tell me what to do)\b", re.IGNORECASE)
_TASK_NAMED = re.compile(r"\b(?:bounty|bounties|notice|errand|task|job you (?:posted|pinned|put up))\b", re.IGNORECASE)
_BARE_TASK_WORDS = 7  # "So what do I do now?": asked with no more words than this, the one task held is meant


def task_asked(line: str, tasks: tuple[tuple[str, str, str], ...]) -> tuple[str, str, str] | None:
    """The (title, next step, whose notice) of the bounty a line asks what to do for: one whose
    title's words it says ("the rats"), or the one whose step's thing it asks where to get ("Where
    can I get the poison?"); or, of the NPC's own, the only one when the line names a notice or asks
    barely ("What now?")."""
    instructions, where = _TASK_ASKED.search(line), _WHERE_GET.search(line)
    if not tasks or not (instructions or where):
        return None
    said = {w.lower().removesuffix("s") for w in re.findall(r"[A-Za-z]+", line)}
    named = [task for task in tasks if said & (_stems(task[0]) | (_stems(_NAME.sub("", task[1])) if where else set())) - _TITLE_PLAIN]
    if named:
        return named[0]
    bare = len(re.findall(r"[A-Za-z']+", line)) <= _BARE_TASK_WORDS or _TASK_NAMED.search(line)
    own = [task for task in tasks if not task[2]]
    return own[0] if instructions and bare and len(own) == 1 else None


_NAME = re.compile(r"(?<!^)\b[A-Z][\w']*")  # a step's names: "where can I find Vesna?" asks where she is
_WHERE_GET = re.compile(r"\bwhere (?:can|do|would|should|might) (?:i|we) (?:get|find|buy)\b", re.IGNORECASE)
_TITLE_PLAIN = frozenset({"the", "for", "and", "turn", "eye", "down", "from", "with", "back", "buy", "give", "tell", "let", "know"})


def _stems(text: str) -> set[str]:
    """A title's or a step's words of three letters or more, lowered, without a plural's "s"."""
    return {w.lower().removesuffix("s") for w in re.findall(r"[A-Za-z]{3,}", text)}


# A player asking the giver of a notice not yet taken about it ("tell me about the rats then"): what
# it asks, in the giver's voice, and how to take it on (the default model said "The rats. They are not
# as deadly as you imagine, no one can say.").
_NOTICE_ASKED = re.compile(r"\b(?:tell me (?:more |a bit )?about|what about|about (?:the|your|this|that)|how do i|"
                           r"what do (?:i|you) (?:need|want)|more about|explain|what(?:'s| is) (?:involved|the job))\b", re.IGNORECASE)
_NOTICE_PLAIN = frozenset({"the", "a", "for", "on", "in", "of", "down", "turn", "to"})


def notice_asked(world, plan, npc: NpcDef):
    """The NPC's own notice, not held by the player, that the line asks about, or None."""
    if not _NOTICE_ASKED.search(plan.line):
        return None
    held = {title for title, _, _ in plan.tasks}
    words = {w.lower() for w in re.findall(r"[A-Za-z]+", plan.line)}
    common = _notice_common(world)
    for bounty in world.bounties.values():
        if bounty.giver != npc.slug or bounty.title in held:
            continue
        own = {w for w in bounty.title.lower().split() if w not in common and len(w) > 3}
        if bounty.title.lower() in plan.line.lower() or own & words:
            return bounty
    return None


def _notice_common(world) -> set[str]:
    """Words a notice's title shares with the places, the goods and the people ("the cellar" asks
    about the place, not 'Rats in the Cellar')."""
    places = {w.lower() for loc in world.locations.values() for w in loc.name.split()}
    goods = {w.lower() for item in world.items.values() for a in (item.name, *item.aliases) for w in a.split()}
    people = {w.lower() for n in world.npcs.values() for w in (*n.name.split(), *n.role.split())}
    return places | goods | people | _NOTICE_PLAIN


def notice_said(bounty, npc: NpcDef, plan) -> tuple[str, tuple[str, ...]]:
    """ "'Rats in the Cellar': buy a twist of rat poison from Magda in the kitchen, then lay the poison
    by the rat holes in the cellar. 15 gold for it: say 'accept rats in the cellar' to take it on." """
    if not tier_at_least(plan.tier, bounty.min_tier):
        return (f"'{bounty.title}' is for folk I know better; come back when we're better acquainted.",
                ("know", "acquainted", "better", "later"))
    steps = [in_own_voice(o.text, npc).rstrip(".") for o in bounty.objectives if o.kind != "report"] or [bounty.title]
    said = (f"'{bounty.title}': " + ", then ".join(steps) + f". {bounty.reward_gold} gold for it: "
            f"say 'accept {bounty.title.lower()}' to take it on.")
    return said, (*task_words(steps[0], npc, line=plan.line), str(bounty.reward_gold))


def in_own_voice(step: str, npc: NpcDef) -> str:
    """A step as its NPC says it: its name is "me", its name's "'s" is "my" ("Give the strings to Tobias."
    said by Tobias: "Give the strings to me."; "Quince's cart": "my cart"); the first letter lowered
    after an opening."""
    text = re.sub(rf"\b{names_pattern(npc)}\b", "me", own_possessive(step, npc))
    return text[:1].lower() + text[1:]


def task_words(step: str, npc: NpcDef, *, line: str = "") -> tuple[str, ...]:
    """What a reply telling the step says: its own words, not the common ones, the speaker's name, nor
    those the line said already ("Where can I get the poison?" is not answered by "poison")."""
    own = {w.lower() for w in name_words(npc)} | _stems(line) | _words3(line)  # the step's words counted are of four letters or more
    return tuple(dict.fromkeys(w for w in re.findall(r"[a-z]{4,}", step.lower()) if w not in _PLAIN and w not in own
                               and w.removesuffix("s") not in own and w not in {"from", "with", "give", "back"}))
