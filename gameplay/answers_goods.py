"""What the house sells and what it costs, as the game answers a player asking (gameplay/answers.py):
what there is to drink or eat, a thing's price, the cheapest or dearest, a room for the night and
its chest, how the dealer's games are played."""
from __future__ import annotations

import re

from npcs.persona import NpcDef, own_possessive, says_any, short_name

from .reply_prices import figure_words
from .rules.lookup import listed, place_in


# A line asking what there is to drink or eat: a reply must name something of that kind sold here
# (the default model answered "What do you have to drink?" with "I have a glass of red wine in my cup.").
_GOODS_ASKED = {
    "drink": re.compile(r"\b(?:drinks|to drink|a drink|pouring|on tap|beverages?)\b", re.IGNORECASE),  # not "do you drink?"
    "food": re.compile(r"\b(?:food|to eat|hungry|starving|menu|cooking|meals?|supper|dinner|grub)\b", re.IGNORECASE),
}
# A question: a question mark, or a question's first words at the start of the line or of a clause
# after a greeting ("evening! what can a tired traveller get to eat round here").
ASKING = re.compile(r"\?(?:\s|$)|(?:^|[.!,;]\s*)\W*(?:what|which|any|got|do you|have you|can i|could i|is there|are there|whats|what's|wots|"
                    r"wot's|wats)\b", re.IGNORECASE)


# Offering the NPC something ("Would you like a drink?", "Can I buy you a drink?") asks nothing of the house's goods.
_OFFER = re.compile(r"\b(?:would|do|will|d'?) ?you (?:like|want|fancy|care for|take)\b|\b(?:buy|get|stand|pour|order) you\b|"
                    r"\bfancy (?:a|another|some)\b|\bjoin me\b", re.IGNORECASE)


def goods_asked(line: str) -> str | None:
    """The kind of goods ("drink", "food") a question asks what there is of, or None."""
    if not ASKING.search(line) or _OFFER.search(line):
        return None
    kinds = [kind for kind, pattern in _GOODS_ASKED.items() if pattern.search(line)]
    return kinds[0] if len(kinds) == 1 else None


def goods_here(world, situation, kind: str | None) -> tuple:
    """The items of that kind for sale where the player stands, cheapest first."""
    if kind is None:
        return ()
    here = places_here(world, situation)
    return tuple(item for item in sorted(world.items.values(), key=lambda i: (i.price, i.name))
                 if item.kind == kind and item.price > 0 and item.sold_at & here)


def places_here(world, situation) -> set[str]:
    """The slugs of the place the moment is in (a situation names its place, not its slug)."""
    return {slug for slug, location in world.locations.items() if location.name == situation.place}


def goods_said(items: tuple) -> str:
    """ "There's a mug of ale for 3 gold, a cup of cider for 3 and a glass of red wine for 5." """
    if not items:
        return ""
    parts = [f"a {item.name} for {item.price}" + (" gold" if n == 0 else "") for n, item in enumerate(items)]
    return f"There's {listed(parts)}."


# A line asking what a thing costs ("how much for an ale?"): a reply must say its price (the
# default model answered "how much is a glass of wine" with "That is a glass of wine.").
_PRICE_ASKED = re.compile(r"\b(?:how much|how many (?:gold|coins?)|what(?:'s| is| does| do)?\b.{0,40}\bcosts?|prices?|go(?:es)? for|"
                          r"set (?:me|you|us) back|what'?s the damage|how dear|expensive|cheap|pricey|cost me)\b", re.IGNORECASE)
PRICES_SAID = 3  # at most this many items' prices said at once


# "i need poison for the rats", "can I get a candle?": a thing of the house the player wants.
_WANTS = re.compile(r"\b(?:i need|i want|i'?d like|i would like|(?:can|could|may) i (?:get|have|buy)|give me|sell me|got any|"
                    r"do you (?:have|sell|do)|have you got|where (?:can|do|could) i (?:get|buy|find))\b", re.IGNORECASE)


def wanted_asked(world, line: str) -> tuple:
    """The things with a price a line says the player wants, in the order named; none for a line
    asking the price (answered as such) or offering the NPC something."""
    if not _WANTS.search(line) or _PRICE_ASKED.search(line) or _OFFER.search(line):
        return ()
    return _items_in(world, _MONEY.sub(" ", line))  # "i need coin" wants money, not the lucky coin


_MONEY = re.compile(r"(?<!lucky )\b(?:coins?|gold|money)\b", re.IGNORECASE)


def wanted_said(world, items: tuple, npc: NpcDef) -> str:
    """ "A twist of rat poison is 2 gold: say 'buy rat poison'." or, sold by another,
    "A twist of rat poison is 2 gold, from Magda in the Kitchen." """
    parts = []
    for item in items:
        seller = world.npcs.get(item.seller) if item.seller else None
        if seller is None or seller.slug == npc.slug:
            parts.append(f"a {item.name} is {item.price} gold: say 'buy {_shortest(item)}'")
        else:
            place = next((world.locations[s].name for s in sorted(item.sold_at) if s in world.locations), "")
            parts.append(f"a {item.name} is {item.price} gold, from {seller.name.split()[0]}" + (f" {place_in(place)}" if place else ""))
    said = "; ".join(parts)
    return said[:1].upper() + said[1:] + "."


def _shortest(item) -> str:
    return min((a for a in item.aliases if a), key=len, default=item.name)


def price_asked(line: str) -> bool:
    """Whether a line asks what something costs, named or not ("and how much would that be?")."""
    return bool(_PRICE_ASKED.search(line))


def prices_asked(world, line: str) -> tuple:
    """The items with a price that a line asking a price names, in the order named."""
    if not _PRICE_ASKED.search(line):
        return ()
    return _items_in(world, line)


def _items_in(world, line: str) -> tuple:
    lowered = line.lower()
    found = []
    for item in world.items.values():
        places = [m.start() for a in item.aliases for m in re.finditer(rf"\b{re.escape(a.lower())}s?\b", lowered)]
        if item.price > 0 and places:
            found.append((min(places), item))
    return tuple(item for _, item in sorted(found, key=lambda pair: pair[0]))[:PRICES_SAID]


# "What's the cheapest thing to eat?", "What's the most expensive thing you sell?"
_CHEAPEST = re.compile(r"\b(?:cheapest|least (?:expensive|costly|dear)|won'?t (?:empty|break|cost|ruin) (?:my|the|me)|on a budget)\b",
                       re.IGNORECASE)
_DEAREST = re.compile(r"\b(?:most (?:expensive|costly)|dearest|priciest)\b", re.IGNORECASE)


_RANKED_KINDS = {  # "the cheapest drink", "the cheapest thing to eat"
    "drink": re.compile(r"\b(?:drinks?|drinking|to drink|pints?|beverages?)\b", re.IGNORECASE),
    "food": re.compile(r"\b(?:food|eat|eating|meals?|dish(?:es)?|supper|dinner|grub|bite)\b", re.IGNORECASE),
}


# "whats cheaper here, wine or rustgut?": of the things the line names.
_CHEAPER = re.compile(r"\b(?:cheaper|less (?:expensive|costly|dear))\b", re.IGNORECASE)
_DEARER = re.compile(r"\b(?:dearer|pricier|more (?:expensive|costly))\b", re.IGNORECASE)


def ranked_asked(world, plan, npc: NpcDef):
    """The cheapest or dearest thing a line asks for: of the kind it names ("to eat"), among what the
    NPC sells when it asks what "you" sell, else what is sold where the player stands; or, asked which
    of the things it names is cheaper or dearer, that one; or None."""
    line = plan.line
    named = _items_in(world, line)
    if len(named) >= 2 and (_CHEAPER.search(line) or _DEARER.search(line)):
        return min(named, key=lambda i: i.price) if _CHEAPER.search(line) else max(named, key=lambda i: i.price)
    if not (_CHEAPEST.search(line) or _DEAREST.search(line)):
        return None
    kinds = [kind for kind, pattern in _RANKED_KINDS.items() if pattern.search(line)]
    items = [i for i in world.items.values() if i.price > 0 and (not kinds or i.kind in kinds)]
    here = places_here(world, plan.situation)
    own = [i for i in items if i.seller == npc.slug] if re.search(r"\byour?\b", line, re.IGNORECASE) else []
    pool = own or [i for i in items if i.sold_at & here] or items
    if not pool:
        return None
    return min(pool, key=lambda i: (i.price, i.name)) if _CHEAPEST.search(line) else max(pool, key=lambda i: (i.price, i.name))


def cheapest_asked(line: str) -> bool:
    return bool(_CHEAPEST.search(line) or _CHEAPER.search(line))


def ranked_said(item, *, cheapest: bool, line: str = "") -> str:
    """ "The cheapest is a heel of brown bread, at 1 gold." ("The cheaper is ..." of two things named)."""
    compared = bool(_CHEAPER.search(line) or _DEARER.search(line))
    word = ("cheaper" if cheapest else "dearer") if compared else ("cheapest" if cheapest else "dearest")
    return f"The {word} is a {item.name}, at {item.price} gold."


def price_words(items: tuple) -> tuple[str, ...]:
    """How a reply may say these items' prices: as figures or words ("3", "three")."""
    return tuple(dict.fromkeys(w for item in items for w in figure_words(item.price)))


def prices_said(items: tuple) -> str:
    """ "A mug of ale is 3 gold." or "A mug of ale is 3 gold, and a bowl of mutton stew 5." """
    if not items:
        return ""
    first, *rest = items
    said = f"A {first.name} is {first.price} gold"
    return said + ("".join(f", and a {item.name} {item.price}" for item in rest) + ".")


# A line asking the dealer how the games go or what they take ("How do I play?", "What are the
# stakes?"): a reply must name a game or a stake (the default model had Vesna answer "There's no need
# to explain. This is my home." and "The stakes. The thing that makes a story worth telling.").
_GAMES_ASKED = re.compile(r"\bhow (?:do|does|can|would|should) (?:i|you|one|we|it) (?:play|bet|gamble|win|join|work)\b|"
                          r"\b(?:easiest|simplest|best|quickest|safest) game\b|\bgames? (?:for|to learn)\b|"
                          r"\bwhat (?:games|can i play|do you play)\b|\bwhich games\b|\b(?:the |house |your )rules\b|\bstakes\b|"
                          r"\bhow much (?:to|can i|do i|should i) (?:bet|stake|wager|start|play|put down)\b|\b(?:minimum|maximum|max|min) bet\b|"
                          r"\b(?:least|most) (?:i|you|one) (?:can|may) (?:bet|stake|wager|put down|play)\b|\b(?:smallest|biggest|largest) (?:bet|stake)\b",
                          re.IGNORECASE)


# "How do I get a room?", "can I leave my stuff somewhere safe?": the rules of lodging, and its chest.
_LODGING_ASKED = re.compile(
    r"\b(?:how (?:do|can|would) i|can i|could i|where (?:can|do|could) i|i need|i want|i'd like|looking for|any)\b"
    r"[^.?!]{0,30}?\b(?:get|rent|have|take|find|book)?\s*(?:a |the |your )?(?:room|bed|key to a room|place to (?:sleep|stay)|"
    r"somewhere to (?:sleep|stay)|lodging)s?\b(?! key\b)|"
    r"\b(?:somewhere|anywhere) (?:i|we) (?:can|could|might|may) (?:\w+ ){0,3}?(?:sleep|stay|kip|rest)\b|\b(?:a |to )kip\b|"
    r"\b(?:a|one) night (?:here|upstairs)\b|"
    r"\b(?:leave|keep|store|stash|lock up) my (?:stuff|things|gear|bags?|belongings|pack|gold|coin)\b|\bsomewhere safe\b|"
    r"\bwhere (?:can|do|could|should|will) i (?:sleep|stay|rest|kip)\b",
    re.IGNORECASE)
_NOT_LODGING = re.compile(r"\b(?:common|card|gambling) room\b|\bmy room\b|\b(?:get|go|way) (?:back |up )?to (?:the|your) room\b",
                          re.IGNORECASE)


def lodging_asked(line: str) -> bool:
    return bool(_LODGING_ASKED.search(line)) and not _NOT_LODGING.search(line)


def lodging_said(world, npc: NpcDef) -> str:
    """ "A room upstairs is 8 gold a night, with a stout chest for your things: say 'rent a room' to Gareth at the bar." """
    key = world.items["room-key"]
    seller = world.npcs.get(key.seller) if key.seller else None
    whom = "here" if seller is None else "to me" if seller.slug == npc.slug else f"to {seller.name.split()[0]} at the bar"
    return (f"A room upstairs is {key.price} gold a night, with a stout chest for your things: "
            f"say 'rent a room' {whom}.")


def games_asked(line: str) -> bool:
    return bool(_GAMES_ASKED.search(line))


def games_said(world) -> str:
    low, high = world.config.min_bet, world.config.max_bet
    return (f"Dice, the coin or high card, from {low} gold to {high} a game: say 'dice 5', 'flip coin 3 heads' or "
            "'high card 4', the figure being your stake. The house keeps one coin in ten of a win.")


def games_words(world) -> tuple[str, ...]:
    figures = {world.config.min_bet, world.config.max_bet}
    return ("dice", "coin", "card", "cards", *(w for figure in sorted(figures) for w in figure_words(figure)))


# "What's good here?", "What would you recommend?", "What's the best thing on the menu?": a reply must
# name one of the things it recommends (the default model answered the first with "Hail, dear
# friend! Hope you're well." and the second with "The one you asked. What is it?").
_RECOMMEND_ASKED = re.compile(
    r"\bwh?at'?s? (?:is )?good\b(?=\s*(?:here|to (?:eat|drink|have)|tonight|today|on (?:the menu|tap)|in this place|"
    r"a?round here|[?!.]*$))|"
    r"\banything (?:good|worth (?:having|trying|eating|drinking|a try))\b|"
    r"(?<!who )\b(?:would|do|can|could|what) (?:you )?(?:recommend|suggest)\b|\brecommendations?\b|"
    r"\bwhat(?:'?s| is) (?:the |your )?(?:best|nicest|finest|tastiest)\b(?! (?:way|place|game|bet|job|work|room|time|route|thing to do))|"
    r"\b(?:house|your) (?:special(?:i?ty)?|favou?rite|pride)\b|"
    r"\bwhat (?:should|shall) i (?:have|get|try|order|eat|drink)\b(?! (?:for|to|done))|"
    r"\bwhat do (?:folk|people|most folk|most people|the regulars|locals) (?:usually |mostly |tend to )?(?:have|drink|order|eat)\b",
    re.IGNORECASE)


def _sold_here(world, situation) -> list:
    """The things with a price sold where the player stands: what the world marks `recommended`
    first, then the cheapest."""
    here = places_here(world, situation)
    return sorted((i for i in world.items.values() if i.price > 0 and i.sold_at & here), key=lambda i: (not i.recommended, i.price, i.name))


def recommended_asked(world, plan, npc: NpcDef) -> tuple:
    """What the NPC recommends to a line asking what is good: of the kind the line names (to eat, to
    drink; else one of each), among what it sells where the player stands, else what the house sells
    there (a merchant with no food nor drink, its own wares); of each kind the thing the world marks
    `recommended`, else the cheapest."""
    if not _RECOMMEND_ASKED.search(plan.line):
        return ()
    sold = _sold_here(world, plan.situation)
    own = [i for i in sold if i.seller == npc.slug]
    asked = [kind for kind, pattern in _RANKED_KINDS.items() if pattern.search(plan.line)]
    kinds = asked or ["food", "drink"]
    pool = [i for i in own if i.kind in kinds]
    if not pool and own and not asked:
        pool, kinds = own, [own[0].kind]
    pool = pool or [i for i in sold if i.kind in kinds]
    return tuple(next(i for i in pool if i.kind == kind) for kind in kinds if any(i.kind == kind for i in pool))


_DETERMINERS = frozenset("a an the some two three four five six seven eight nine ten twenty this that".split())


def recommended_said(items: tuple, npc: NpcDef) -> str:
    """ "Try the bowl of mutton stew, 5 gold: Magda's famous mutton and barley stew, thick enough to
    stand a spoon in. And the mug of ale, 3 gold: a foaming mug of Brackwater Bitter..." """
    parts = []
    for item in items:
        about = own_possessive(item.description, npc)
        first = about.split(" ", 1)[0]
        about = about[:1].lower() + about[1:] if first.lower() in _DETERMINERS else about  # not "Magda's"
        parts.append(f"the {item.name}, {item.price} gold: {about}")
    return "Try " + " And ".join(parts)


def recommended_words(items: tuple) -> tuple[str, ...]:
    return tuple(dict.fromkeys(a for item in items for a in (item.name, *item.aliases)))


# "What's in the stew?", "is the ale any good?", "what's rustgut like?": a thing sold here asked about
# is its description (the default model had Gareth answer the first "I am Magda's mum").
_DESCRIBE_ASKED = tuple(re.compile(p, re.IGNORECASE) for p in (
    r"\bwhat(?:'?s| is| are| goes) (?:in|into) (?:the |your |that |this |a |an )?§",
    r"\bwhat(?:'?s| is| are) (?:the |your |that |this |a |an )?(?:\w+ )?§s?(?: like| made (?:of|from|with))?\s*[?!.]*$",
    r"\b(?:tell me (?:about|of)|describe) (?:the |your |that |this |a |an )?§",
    r"\bis (?:the |your |that |this )?§s? (?:any |much |very |really )?(?:good|nice|fresh|strong|decent|worth|tasty|safe)\b",
    r"\bhow(?:'?s| is| are) (?:the |your |that |this )?§s?\s*[?!.]*$",
    r"\bwhat (?:kind|sort) of §",
))
_AMBIGUOUS = frozenset({"line", "light", "sweet", "spirit", "spirits", "key", "my key", "shot", "tot", "coin"})  # "what's your line?"


def asked_in_shape(line: str, name: str, shapes: tuple[re.Pattern, ...]) -> bool | None:
    """None when the line does not name `name`; else whether it asks of it in one of `shapes`
    (patterns with "§" where the name stands; a "§" the player typed is no name)."""
    marked, found = re.subn(rf"\b{re.escape(name.lower())}\b", "§", line.lower().replace("§", " "), count=1)
    return any(p.search(marked) for p in shapes) if found else None


def described_asked(world, line: str):
    """The thing with a price a line asks to hear about (by its longest name the line says), or None."""
    for item in sorted(world.items.values(), key=lambda i: i.slug):
        if item.price <= 0 or not item.description:
            continue
        for alias in sorted(set(item.aliases) - _AMBIGUOUS, key=len, reverse=True):
            asked = asked_in_shape(line, alias, _DESCRIBE_ASKED)
            if asked is not None:
                if asked:
                    return item
                break
    return None


def described_said(item, npc: NpcDef) -> str:
    """ "A foaming mug of Brackwater Bitter, brown as a riverbank and twice as honest. 3 gold a mug of ale." """
    return f"{own_possessive(item.description, npc)} {item.price} gold, the {item.name}."


def described_words(item, line: str) -> tuple[str, ...]:
    """What a reply describing it must say: a word of its description the line did not bring."""
    return unsaid_words(item.description, line, common=frozenset({"thick", "enough"}))


# What a reply speaking of a thing, a place or a topic must say one of: a word of five letters or
# more of what the world says of it, not one the player's line brought, nor one that says nothing of
# it ("about", "would").
_PLAIN = re.compile(r"\b[a-z][a-z']{4,}")  # a plain word, not a name
_WORD = re.compile(r"\b[A-Za-z][a-z']{4,}")
COMMON_WORDS = frozenset("about after again their there these those which while would could should other every under still".split())


def unsaid_words(text: str, line: str, *, names: bool = False, common: frozenset[str] = frozenset()) -> tuple[str, ...]:
    """The words of `text` such a reply may say (with `names`, capitalised ones too), lowered."""
    said = {w for token in re.findall(r"[a-z']+", line.lower()) for w in (token, token.strip("'"))}
    plain = (w.lower().strip("'").removesuffix("'s") for w in (_WORD if names else _PLAIN).findall(text))
    return tuple(dict.fromkeys(w for w in plain if w not in said and w not in COMMON_WORDS and w not in common))


# "Can I buy you a drink?", "fancy an ale, Amos?": the NPC takes it, names what it would have and how
# the player stands it (the default model had Amos answer "I am not here. I have no idea how to make a drink").
_DRINK_OFFERED = re.compile(r"\b(?:drinks?|pints?|rounds?|ales?|beers?|ciders?|wines?|something (?:to drink|strong))\b", re.IGNORECASE)
ACCEPT_WORDS = ("thank", "thanks", "kind", "aye", "yes", "please", "generous", "credit", "gladly", "won't say no", "wouldn't say no")


def offered_drink(world, plan, npc: NpcDef):
    """The drink a line offers the NPC (one it names sold here; else the one the NPC's own words on
    drink name; else the house's recommended drink there), or None when it offers none."""
    if not (_OFFER.search(plan.line) and _DRINK_OFFERED.search(plan.line)):
        return None
    drinks = [i for i in _sold_here(world, plan.situation) if i.kind == "drink"]
    named = [i for i in _items_in(world, plan.line) if i in drinks]
    liked = [i for i in drinks for line in _drink_lines(npc) if says_any(line, i.aliases)]
    return (named or liked or drinks or [None])[0]


def _drink_lines(npc: NpcDef) -> list[str]:
    """The NPC's own words on being stood a drink (a topic on "buy you a drink", a round, thirst; not its menu)."""
    return [line for topic in npc.topics if {"buy you a drink", "round", "thirsty"} & {k.lower() for k in topic.keywords}
            for line in topic.lines]


def offered_said(drink, npc: NpcDef) -> str:
    """ "A drink? Young 'un, you're a credit to your mother. Ale, if you're asking. ... Say 'buy ale for amos'." """
    own = next((line for line in _drink_lines(npc) if says_any(line, drink.aliases)),
               f"Kind of you. A {drink.name} wouldn't go amiss.")
    return f"{own} Say 'buy {_shortest(drink)} for {short_name(npc).lower()}'."


def offered_words(drink) -> tuple[str, ...]:
    return (*ACCEPT_WORDS, *drink.aliases)
