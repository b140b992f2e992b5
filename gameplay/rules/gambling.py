"""Games of chance in the den: dice, a coin flip and high card, with the house's limits and odds,
played while the dealer is in (Vesna's hours: the den is shut on Moonday evenings).

Odds: dice — both roll two dice, the higher total wins, the house takes ties; coin — call it, even
money, fair; high card — both draw from one to thirteen, the higher wins, ties are a push.
"""
from __future__ import annotations

import re

from npcs.persona import short_name

from .context import Refusal, TurnContext
from .parser import Intent
from .talk import bell_said, next_seen

DEN = "gambling-den"
GAMES = {"dice": ("dice", "die", "bones", "roll"), "coin": ("coin", "flip", "toss", "heads", "tails"), "card": ("card", "cards", "high", "draw")}
# The house's cut of a win, as the dealer tells it ("House takes one coin in ten"): a whole coin for
# every ten won, none on a win under ten.
HOUSE_CUT = (1, 10)
HOW = "Dice, coin or high card: say 'dice 5', 'flip coin 3 heads' or 'high card 4' (the number is your bet)."


def _game_of(words: str) -> str | None:
    tokens = set(re.findall(r"[a-z]+", words))
    for game, names in GAMES.items():
        if tokens & set(names):
            return game
    return None


def handle_gamble(ctx: TurnContext, intent: Intent) -> None:
    if ctx.state.location != DEN:
        raise Refusal("The games of chance are played in the gambling den.")
    _dealer_in(ctx)
    words = f"{intent.extra}".lower()
    game = _game_of(words) or _game_of(intent.target)
    numbers = [int(n) for n in re.findall(r"\d+", words)]
    if game is None or not numbers:
        raise Refusal(HOW)
    bet = numbers[0]
    low, high = ctx.world.config.min_bet, ctx.world.config.max_bet
    if not low <= bet <= high:
        raise Refusal(f"The house takes bets from {low} to {high} gold.")
    if bet > ctx.state.gold:
        raise Refusal(f"You'd need {bet} gold to cover that bet; you have {ctx.state.gold}.")
    if ctx.state.tiredness >= 95:
        raise Refusal("Your eyes won't stay on the dice. Sleep first.")
    ctx.advance(10)
    outcome, story = {"dice": _dice, "coin": _coin, "card": _card}[game](ctx, words)
    cut = bet * HOUSE_CUT[0] // HOUSE_CUT[1] if outcome == 1 else 0
    ctx.state.gold += bet * outcome - cut
    result = {1: f"You win {bet} gold" + (f"; the house keeps {cut}." if cut else "."), 0: "Your stake comes back to you.",
              -1: f"You lose {bet} gold."}[outcome]
    ctx.say(f"{story} {result} You have {ctx.state.gold} gold.")


def _dealer_in(ctx: TurnContext) -> None:
    """The tables are open while a dealer is in the den; a world with no dealer lets the house deal."""
    dealers = [n for n in ctx.world.npcs.values() if "dealer" in n.role]
    if not dealers or any(ctx.npc_location(n) == DEN for n in dealers):
        return
    dealer = dealers[0]
    first = short_name(dealer)
    back = next_seen(dealer, ctx.state.minute, where=DEN)
    when = f" {first} deals again from the {bell_said(back, ctx.state.minute)}." if back is not None else ""
    raise Refusal(f"The tables are covered and the cards locked away: nobody deals while {first} is out.{when}")


def _dice(ctx: TurnContext, words: str) -> tuple[int, str]:
    mine = ctx.rng.randint(1, 6) + ctx.rng.randint(1, 6)
    house = ctx.rng.randint(1, 6) + ctx.rng.randint(1, 6)
    return (1 if mine > house else -1), f"You roll {mine}; the house rolls {house}."


def _coin(ctx: TurnContext, words: str) -> tuple[int, str]:
    call = "tails" if "tails" in words else "heads"
    side = ctx.rng.choice(("heads", "tails"))
    return (1 if side == call else -1), f"You call {call}; the coin spins and lands {side}."


def _card(ctx: TurnContext, words: str) -> tuple[int, str]:
    names = {1: "an ace", 11: "a knight", 12: "a queen", 13: "a king"}
    mine, house = ctx.rng.randint(1, 13), ctx.rng.randint(1, 13)
    dealer = next((n.name for n in ctx.present_npcs() if "dealer" in n.role), "the house")  # a world with no dealer: the house's deck
    story = f"You draw {names.get(mine, f'a {mine}')}; {dealer} draws {names.get(house, f'a {house}')}."
    return (1 if mine > house else 0 if mine == house else -1), story
