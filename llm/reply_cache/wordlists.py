"""The words behind a line's signature (`signature.py`): chat spellings, idioms, words that never
change what a question asks, and groups of words that ask the same thing. Plain English of the
tavern, not any one NPC's: the world's own names for its things come from the world, by the caller.

Whether a word is English at all (so that "rooom" may be mended but "kip" is left alone) is read
from the embedding model's own vocabulary, which ships with it.
"""
from __future__ import annotations

import functools
import logging

logger = logging.getLogger(__name__)

# Chat spellings and clipped forms, spelled out before anything else (whole words only).
SLANG: dict[str, str] = {
    "u": "you", "ya": "you", "yer": "your", "ur": "your", "r": "are", "y": "why", "n": "and", "d": "do",
    "pls": "please", "plz": "please", "wat": "what", "wot": "what", "wut": "what", "wha": "what",
    "whats": "what is", "whos": "who is", "wheres": "where is", "whens": "when is", "hows": "how is",
    "whys": "why is", "thats": "that is", "theres": "there is", "heres": "here is", "hes": "he is",
    "shes": "she is", "im": "i am", "ive": "i have", "youre": "you are", "dont": "do not", "doesnt": "does not",
    "didnt": "did not", "isnt": "is not", "arent": "are not", "wasnt": "was not", "werent": "were not",
    "havent": "have not", "hasnt": "has not", "cant": "can not", "couldnt": "could not", "wouldnt": "would not",
    "shouldnt": "should not", "aint": "is not", "whatcha": "what are you", "watcha": "what are you",
    "wotcha": "what are you", "wanna": "want to", "gotta": "have to", "gimme": "give me", "lemme": "let me",
    "kinda": "kind of", "sorta": "sort of", "dunno": "do not know", "abt": "about", "bout": "about",
    "thx": "thanks", "ty": "thank you", "cuz": "because", "coz": "because", "cos": "because", "tho": "though",
    "tonite": "tonight", "nite": "night", "b4": "before", "ppl": "people", "sumthing": "something",
    "nothin": "nothing", "somethin": "something", "anythin": "anything", "doin": "doing", "goin": "going",
    "playin": "playing", "sellin": "selling", "ol": "old", "yep": "yes", "yeah": "yes", "nah": "no",
    "nope": "no", "k": "okay", "wer": "were", "gonna": "will", "ye": "you", "yous": "you", "yall": "you",
    "em": "them", "innit": "", "eh": "", "hm": "", "hmm": "", "huh": "",
}

# Multi-word expressions read as what they mean (whole words; longest first). "" drops them.
IDIOMS: tuple[tuple[str, str], ...] = tuple(sorted((
    # a price
    ("how much", "price"), ("how many", "howmany"), ("how long", "howlong"), ("a body", ""),
    ("set me back", "price"), ("set you back", "price"), ("go for", "price"), ("going rate", "price"),
    ("what is the damage", "price"), ("how much is", "price"), ("how much are", "price"), ("how much for", "price"),
    ("how much does", "price"), ("how much do", "price"), ("how much to", "price"), ("what do you charge", "price"),
    ("what are you charging", "price"), ("what do you ask for", "price"),
    # why, when, what for
    ("what gives", "why"), ("how come", "why"), ("for what reason", "why"), ("what is behind", "why"),
    ("what is the story behind", "why"), ("what is the reason", "why"), ("what for", "purpose"),
    ("used for", "purpose"), ("what is it for", "purpose it"), ("for what", "purpose"),
    ("what time", "when"), ("what hour", "when"), ("what hours", "when"), ("which day", "when"),
    ("which days", "when"), ("what day", "when"), ("what days", "when"), ("how often", "when"),
    ("what night", "when"), ("which night", "when"), ("which nights", "when"), ("what nights", "when"),
    ("how many years", "howlong"), ("since when", "howlong"),
    # what is in a thing
    ("what is in", "ingredient"), ("what goes in", "ingredient"), ("what goes into", "ingredient"),
    ("made of", "ingredient"), ("made from", "ingredient"), ("what do you put in", "ingredient"),
    ("in it", ""), ("in there", ""),
    # asking for a thing (a request, not a question about it)
    ("can i have", "request"), ("could i have", "request"), ("may i have", "request"), ("i will have", "request"),
    ("i would like", "request"), ("i will take", "request"), ("give me", "request"), ("get me", "request"),
    ("pour me", "request"), ("bring me", "request"), ("i want", "request"), ("i need", "need"),
    # where a thing is to be had: the same as who sells it
    ("who sells", "sell"), ("who has", "avail"),
    ("who has got", "avail"), ("who is got", "avail"), ("who stocks", "sell"), ("who deals in", "sell"),
    ("do you sell", "sell"), ("do you stock", "sell"), ("for sale", "sell"), ("have you got", "avail"),
    ("do you have", "avail"), ("you got", "avail"), ("got any", "avail"), ("have any", "avail"), ("is there any", "avail"),
    ("are there any", "avail"), ("anyone sell", "sell"), ("anybody sell", "sell"), ("who sell", "sell"),
    # rumours and news
    ("spill the tea", "rumour"), ("word on the street", "rumour"), ("what is new", "rumour"),
    ("the latest", "rumour"), ("what is happening", "rumour"), ("what is going on", "rumour"),
    ("spill the beans", ""),
    # work and earning
    ("line of work", "work"), ("earn a crust", "work"), ("make a living", "work"), ("for a living", "work"),
    ("make some money", "work"), ("make money", "work"), ("make some coin", "work"), ("that pays", "work"),
    ("need a hand", "work"), ("lend a hand", "work"), ("give you a hand", "work"), ("a hand with", "work"),
    ("washing up", "dishes"), ("wash up", "dishes"), ("scrubbing pots", "dishes"), ("scrub pots", "dishes"),
    ("wash the dishes", "dishes"), ("washing the dishes", "dishes"), ("doing the dishes", "dishes"),
    ("run off your feet", "busy"), ("rushed off your feet", "busy"), ("all day", "busy"), ("your day", "busy"),
    ("working day", "busy"), ("your days", "busy"), ("the day like", "busy"), ("day like", "busy"),
    # a room for the night
    ("a bed for the night", "lodging"), ("for the night", ""), ("for tonight", ""), ("a night s", ""),
    ("stay the night", "lodging"), ("stay over", "lodging"), ("put me up", "lodging"), ("somewhere to sleep", "lodging"),
    ("place to sleep", "lodging"), ("place to stay", "lodging"), ("somewhere to stay", "lodging"),
    ("somewhere to kip", "lodging"),
    # rivers and floods
    ("burst its banks", "flood"), ("break its banks", "flood"), ("bursts its banks", "flood"),
    ("breaks its banks", "flood"), ("over its banks", "flood"),
    # other times
    ("back in the day", "past"), ("in the old days", "past"), ("in your day", "past"), ("back then", "past"),
    ("last time", "past"), ("used to", "past"), ("these days", ""), ("nowadays", ""), ("of late", ""),
    # fillers
    ("around here", ""), ("round here", ""), ("about here", ""), ("in these parts", ""), ("in town", ""),
    ("this place", "tavern"), ("the place", "tavern"), ("tell me about", ""), ("tell me", ""), ("do you know", ""),
    ("can you tell me", ""), ("i wonder", ""), ("what is the story with", ""), ("what is the story", ""),
    ("what is the deal with", ""), ("what is the deal", ""), ("what is up with", ""), ("go on", ""),
    ("by the way", ""), ("i was wondering", ""), ("any chance", ""), ("at all", ""), ("kind of", ""),
    ("sort of", ""), ("a bit", ""), ("a little", ""), ("good sort", ""), ("let me know", ""),
    ("i should know", ""), ("should i know", ""), ("been meaning to ask", ""), ("meaning to ask", ""),
    ("different question", ""), ("another question", ""), ("quick question", ""), ("one more thing", ""),
    ("about me", "mine"), ("of me", "mine"),
    # a thing taken
    ("got nicked", "steal"), ("was nicked", "steal"), ("went missing", "missing"), ("gone missing", "missing"),
    ("play cards", "bet"), ("play dice", "bet"), ("a game of cards", "bet"), ("a hand of cards", "bet"),
    ("go up", "rise"), ("goes up", "rise"), ("going up", "rise"), ("gone up", "rise"), ("went up", "rise"),
    # the way somewhere: "How do I get out of town?" asks a road, not what the town is like
    ("how do i get to", "way"), ("how do i get out of", "way"), ("get out of", "way"), ("way out of", "way"),
    ("how do i get into", "way"), ("how to get to", "way"), ("the way to", "way"), ("directions to", "way"),
    ("trade in", "sell"), ("deal in", "sell"), ("what trade", "work"),
    ("set list", "music"), ("on the bill", "music"), ("on tap", "drink"), ("wet my whistle", "drink"),
    ("wet your whistle", "drink"), ("wet the whistle", "drink"), ("this evening", ""), ("this morning", ""),
    ("this afternoon", ""), ("the living rusted tankard", "tavern"), ("living rusted tankard", "tavern"),
    ("the rusted tankard inn", "tavern"),
), key=lambda pair: (-len(pair[0]), pair[0])))

# Words that never change what a question to an NPC asks.
SOFT = frozenset("""
what which how whether is are am be been being do does doing done have has having get got can could would
should may might must let please tell say know wonder thing things kind sort bit really actually exactly just
anyway anyways then so well now still here there around round about usual usually always ever often
sometimes generally normally ok okay yes hey oh ah um er mate friend sir love any some
anything something a an the to of in on at for with from by and or but i me we us our this these
all much many also too very lot lots right go going come coming up out into again today tonight currently
presently honestly anyhow mind perhaps maybe possibly even will shall lately recently it that this those
these s odd strange funny weird unusual peculiar curious menu want wanted wanting wants back
decent proper quality best fresh few badly mostly day days whatever sorry pardon listen alright
""".split())

# Groups of words that ask the same thing; each word (or its stem) maps to its group's name.
GROUPS: dict[str, str] = {
    # what is asked about the thing
    "why": "why reason",
    "price": "price prices cost costs costing charge charges charging fee fees rate rates expensive cheap dear "
             "howmuch limit limits max maximum min minimum",
    "howmany": "howmany",
    "howlong": "howlong",
    "when": "when whenever schedule",
    "where": "where whereabouts",
    "whereget": "whereget",
    "way": "way route directions",
    "who": "who whom",
    "whose": "whose",
    "purpose": "purpose",
    "ingredient": "ingredient ingredients recipe",
    # what changes it
    "past": "was were did had yesterday ago lastnight earlier formerly previously once past went saw told said "
            "came took gave sold bought happened knew retired",
    "future": "tomorrow later soon next someday",
    "neg": "not no never nothing nobody none without nor neither",
    "mine": "my mine myself",
    "you": "you yourself thee thou",
    "your": "your yours thy",
    "third": "he she him her his hers they them their theirs herself himself themselves",
    "someone": "someone somebody anyone anybody",
    "request": "request",
    "need": "need",
    "most": "cheapest dearest priciest strongest weakest biggest smallest largest finest worst oldest newest",
    # what it is about
    "lodging": "lodging room rooms bed beds kip lodgings sleep sleeping bunk quarters rent renting",
    "drink": "drink drinks drinking thirsty thirst parched beverage beverages booze pour pouring poured tipple",
    "food": "food eat eating hungry hunger meal meals grub snack snacks starving famished",
    "meal_time": "breakfast lunch supper dinner",
    "work": "work working job jobs hire hiring hired employment gig gigs task tasks errand errands chore chores earn "
            "earning wage wages skint broke trade profession occupation",
    "money": "money coin coins cash",
    "rumour": "rumour rumours rumor rumors gossip gossips gossiping news whisper whispering whispers juicy "
              "talk talking chatter heard hear hearing",
    "town": "town village city area neighbourhood neighborhood region",
    "tavern": "tavern inn pub alehouse establishment",
    "people": "people folk folks regulars customers patrons locals everyone everybody crowd",
    "music": "song songs music tune tunes ballad ballads melody play plays playing played perform performing",
    "greeting": "hello hi hiya greetings greeting howdy hail goodday goodmorning goodevening goodafternoon wellmet",
    "farewell": "goodbye bye farewell goodnight seeyou takecare",
    "thanks": "thank thankyou thanks cheers obliged grateful appreciate",
    "sell": "sell sells selling sale wares goods stock",
    "avail": "avail serve serves serving offer offering",
    "buy": "buy buying purchase",
    "open": "open opens opening",
    "shut": "shut close closes closing closed",
    "busy": "busy routine",
    "rise": "rise rises rising rose raise raises raising raised risen",
    "steal": "stole stolen steal stealing theft thief nicked pinched swiped pilfered",
    "missing": "missing vanished vanish disappeared disappear gone lost",
    "name": "name named call called",
    "bet": "bet bets betting wager wagers stake stakes gamble gambling odds",
    "like": "like",
    "dishes": "dishes",
    "flood": "flood floods flooding flooded",
}


@functools.lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """Whole English words of the embedding model's vocabulary (about 22,000); empty if unreadable."""
    try:
        from llm.embeddings.bert import model_dir

        with open(model_dir() / "vocab.txt", encoding="utf-8") as handle:
            return frozenset(line.strip() for line in handle if line.strip().isalpha())
    except Exception:  # no vocabulary: nothing is mended, nothing is wrongly mended either
        logger.warning("reply cache: the English word list is unreadable; typing slips are not mended", exc_info=True)
        return frozenset()

# What each group does to a question. "aspect": what is asked about the thing; "modifier": what turns
# it into another question; "weak": words that colour a question without changing what answers it.
# Every other group, and every thing of the world, is a topic.
ASPECTS = frozenset("why price howmany howlong when where who whom whose purpose ingredient way".split())
MODIFIERS = frozenset("past future neg mine you youto third someone request need most".split())
WEAK = frozenset("sell avail like your".split())

# People named by what they are to someone: a "he" or "she" in the same line may stand for them.
KIN = frozenset(("wife husband son daughter brother sister family child children father mother uncle aunt cousin "
                 "grandfather grandad granddad grandpa grandmother gran founder man woman lad lass boy girl").split())
