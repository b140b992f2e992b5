"""The prompt inspector: exactly the messages an NPC would be given for a line now, with each chosen
memory's scores and why it was chosen, and each canon fact and why it went in, for the staff page and `manage.py show_prompt`. It sits above
the reply path (voice.py), which keeps the reports of real replies (prompt_reports.py)."""
from __future__ import annotations

from . import services
from .prompt_reports import prompt_report
from .voice_prompt import prompt_inspect
from .world import world_current


def prompt_report_now(*, game_id: str, npc: str, line: str) -> dict:
    """The prompt the NPC would be given for this line now (nothing is changed: memories are not marked used)."""
    plan = services.say_plan_inspect(game_id=game_id, npc=npc, text=line)
    prompt, recalled, _, canon = prompt_inspect(plan, world_current().npcs[plan.npc], mark_used=False)
    return prompt_report(prompt, recalled, canon=canon)
