"""The playtest scorecard: what a player met, as numbers. It reads the turns of a transcript (the
player's line, the reply the player saw, where the reply came from, timings, gold before and after)
and judges each reply by fixed, deterministic rules against the world as the game's selectors give
it: in character or not, every price, item and name checked, false premises turned down or not,
injections obeyed or not, repetition, recall, canon. No model judges itself here, and nothing is
shared with the game's own reply checks: this is the player's side of the table, written apart.
`docs/playtest.md` ("The scorecard") defines every figure.

- `figures.py`: the figures, their units and targets, and the sources a reply comes from.
- `words.py`: amounts, normalised text, phrases and sentences, as a reply is read.
- `facts.py`: the world as the checks need it.
- `character.py`, `grounding.py`, `premises.py`: the checks of one reply.
- `card.py`: every turn judged, and the figures overall and per NPC (`scorecard`).
- `report.py`: the card as Markdown.
Nothing here imports Django at load: bench/run.py reads FIGURES without a project set up.
"""
from .card import scorecard
from .character import ooc_markers
from .facts import Facts, facts_from_world
from .figures import FIGURES, MODEL_SOURCES, SOURCES, SPECS, FigureSpec
from .grounding import Mention, grounding_mentions
from .premises import injection_obeyed, premise_rejected
from .report import report_markdown, target_met

__all__ = [
    "FIGURES", "MODEL_SOURCES", "SOURCES", "SPECS", "Facts", "FigureSpec", "Mention", "facts_from_world",
    "grounding_mentions", "injection_obeyed", "ooc_markers", "premise_rejected", "report_markdown", "scorecard",
    "target_met",
]
