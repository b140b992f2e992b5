"""What a player's line claims of a past shared with the NPC ("you promised me fifty gold", "remember
me?"), read by its wording: the reply checks (gameplay/reply_checks.py) then want it turned down
when the NPC has no memory of the player."""
from __future__ import annotations

import re

_PREMISE = re.compile(
    r"\b(?:you (?:already |just |even |also |once )?(?:promised|owe|owed|swore|said|told|gave|agreed|offered|lent|borrowed|bet|"
    r"sold|bought|hired|saved|kissed|paid|took|stole|arrested|caught|wrote|sang|won|let me|wiped)|remember (?:me|when|how|that|our|the time)|i (?:saved|helped|gave|lent|paid|sold|bought) you|"
    r"(?<!have )(?<!did )(?<!had )we (?:agreed|had a deal|made a deal|met|shook)|"
    # more ways of claiming a shared past: what the player left or brought, what the NPC never paid,
    # thanks for a favour, an old adventure, kin, someone's order, a bet made together
    r"(?<!have )(?<!did )i (?:left|brought|sent|handed|loaned|lent) (?:\w+ ){0,4}?(?:with |to )?you\b|you were (?:keeping|holding|minding) (?:\w+ ){0,2}?for me|"
    r"you (?:still )?(?:haven't|have not|never|didn't|did not) (?:paid|repaid|returned|given)(?: me)?\b|it was you (?:who|that) \w+|"
    r"thanks? (?:you )?(?:again )?for (?:lending|giving|letting|saving|helping|selling|the loan)|"
    r"our (?:adventure|journey|trip|quest|game|wager|bet|fight|travels|time together)|"
    r"(?:it's|its|it is) me,? your \w+|you always (?:let|give|gave|pour|said|told|keep)|told you to (?:give|let|pour|sell|lend|pay)|"
    r"(?:bet|deal|wager|bargain) (?:we|you) (?:made|struck|had|took)|we (?:made|struck|had) (?:a|our) (?:bet|wager|bargain)|"
    r"as you (?:said|promised)|(?:i|we) (?:already )?paid you|you(?:'re| are) my (?:brother|sister|father|mother|cousin|"
    r"uncle|aunt|son|daughter|wife|husband|friend from)|our (?:deal|bargain|agreement|arrangement)|like you promised|"
    r"you know me|we go way back|don't you remember|"
    r"you \w+ed\b[^.?!]{0,60}\b(?:yesterday|last (?:night|week|month|year|time|spring|summer|autumn|winter)|the other (?:day|night))|"
    # what the NPC did to the player, or lost to them; an old friendship; a job done for the NPC and
    # its pay asked for; the player's things said to be in the NPC's keeping; an accusation; another's
    # word that the NPC would give something
    r"you (?:fined|charged|overcharged|shortchanged|short-changed|cheated|robbed|tricked|swindled|fleeced|conned|stiffed|"
    r"hired|invited|banned|kicked|threw|hit|punched|insulted|refused|poisoned|lost) (?:me|(?:\w+ ){1,3}to me)\b|"
    r"(?:u|ya|yer|you) (?:sed|sayed|promised|told me|owe me)|"
    r"(?:good|nice|great) to see you again|after all (?:these|those) years|my old (?:friend|pal|mate|comrade)|"
    r"(?:served|fought|travelled|traveled|grew up|soldiered|sailed|marched) together|"
    r"i (?:already |just )?(?:\w+ed|did|swept|caught|brought|fetched|sang|won) (?:\w+ ){0,4}for you\b|"
    r"where'?s my (?:\d+ |\w+ )?(?:gold|coins?|money|pay|wages|reward)|"
    r"i (?:left|forgot|dropped|put|stored) (?:\w+ ){0,4}?(?:with you|in your|at your|on your|behind your)|"
    r"(?:hand|give|pass) (?:me )?back (?:my|the)|return my|give me my \w+ back|"
    r"(?:you'?re|you are) the one (?:who|that)|\bsaw you (?:steal|take|nick|pinch|poison|hide|sneak|grab|pocket|break)|"
    r"why did you (?:\w+ )?(?:poison|steal|kill|murder|rob|cheat|lie|hide|hit|attack|betray|burn)|"
    r"(?:told me|said|says|promised)(?: that)? (?:you'?d|you would|you will|you'?ll) (?:give|let|pay|lend|sell|hand|do) me|"
    r"(?:told me|said|says)(?: that)? i (?:could|can|may|get to|would get) (?:have|take|stay|sleep|drink|eat|keep))\b",
    re.IGNORECASE,
)


def premise_claimed(line: str) -> bool:
    """Whether a player's line claims a shared past ("you promised me...", "remember when...")."""
    return bool(_PREMISE.search(line))


_EARLIER_DAY = re.compile(r"\b(?:yesterday|last (?:night|week|month|year|spring|summer|autumn|winter|moonday|"
                          r"\w+day)|the other (?:day|night)|(?:days|weeks|months|years) ago)\b", re.IGNORECASE)


def premise_dated(line: str) -> bool:
    """Whether a claimed shared past is set on an earlier day ("you said yesterday ...")."""
    return premise_claimed(line) and bool(_EARLIER_DAY.search(line))
