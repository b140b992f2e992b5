"""Turns played: a typed command, speech to an NPC in two steps (prepared, then committed once the
reply is voiced, exactly once), and free text the rules could not place, narrated."""
from __future__ import annotations

from llm.actions import ProposedAction
from memory.facts import player_name_in

from ..rules import engine, orders, proposals, talk
from ..rules.context import Refusal, SharedWorld
from ..rules.situation import situation_for
from .plans import NarratePlan, SayPlan, TurnResult, _say_plan
from .store import _load, _log_turn, _open, _open_unless_replayed, _replayed, _restored_frames, _save, _with_retries

NARRATABLE_MIN_WORDS = 3


# --- commands ------------------------------------------------------------------------------------
def turn_command(*, game_id: str, client_id: str | None, text: str, tavern_id: int | None = None,
                 command: str | None = None) -> TurnResult:
    """Apply a typed command; the result holds the final frame, and a say plan when it was speech.
    `tavern_id`: the shared tavern it is played in (its claims count), None in a private one.
    `command`: what the words come to, applied in their place (an order said to a seller: "An ale,
    please" is "buy 1 ale"); the turn keeps the words."""

    def run() -> TurnResult:
        opened = _open_unless_replayed(game_id, client_id, for_update=True, tavern_id=tavern_id)
        if isinstance(opened, TurnResult):
            return opened
        game, ctx, restored = opened
        try:
            outcome = engine.command_apply(ctx, command or text)
        except Refusal as refusal:
            final = {"type": "error", "reply_to": client_id, "code": refusal.code, "text": refusal.text}
            if refusal.code == "unknown_command" and command is None and len(text.split()) >= NARRATABLE_MIN_WORDS:
                return TurnResult(final={}, narrate=NarratePlan(str(game.pk), client_id, text, situation_for(ctx, None), final))
            _log_turn(game, client_id, "command", text, final, minute=ctx.state.minute)
            return TurnResult(final=final)
        if outcome.say_request is not None:
            request = outcome.say_request
            return TurnResult(final={}, say=_say_plan(ctx, game, client_id, request.npc, request.text, private=request.private))
        version = _save(game, ctx) if outcome.changed or restored else game.version
        final = {"type": "narration", "reply_to": client_id, "text": outcome.text}
        _log_turn(game, client_id, "command", text, final, minute=ctx.state.minute)
        state_frame = engine.state_frame(ctx, game_id=str(game.pk), version=version) if outcome.changed or restored else None
        return TurnResult(final=final, state=state_frame, extra=_restored_frames(restored), aloud=outcome.aloud)

    return _with_retries(run)


# --- speech --------------------------------------------------------------------------------------
def say_prepare(*, game_id: str, client_id: str | None, npc: str, text: str, private: bool = False,
                tavern_id: int | None = None) -> TurnResult:
    """Check that the NPC can be spoken to now; nothing is applied until `say_commit`. `private`:
    a whisper; `tavern_id`: the shared tavern it is said in."""

    def run() -> TurnResult:
        opened = _open_unless_replayed(game_id, client_id, for_update=False)
        if isinstance(opened, TurnResult):
            return opened
        game, ctx, _ = opened
        if tavern_id is not None:  # nothing is claimed before the commit: the claims are not read; who stands where is
            from ..tavern.selectors import patrons_by_location

            ctx.shared = SharedWorld(tavern_id=tavern_id, patron="", others=patrons_by_location(tavern_id=tavern_id, but=str(game.pk)))
        try:
            addressed = talk.npc_to_address(ctx, npc)
        except Refusal as refusal:
            return TurnResult(final={"type": "error", "reply_to": client_id, "code": refusal.code, "text": refusal.text})
        order = orders.order_said(ctx, addressed, text)
        if order is not None:  # "An ale, please" to Gareth: the rules sell it, as `buy ale` would
            return order
        return TurnResult(final={}, say=_say_plan(ctx, game, client_id, addressed.slug, text, private=private))

    found = run()  # it only reads: no transaction, so no write lock taken on SQLite
    if isinstance(found, str):
        return turn_command(game_id=game_id, client_id=client_id, text=text, tavern_id=tavern_id, command=found)
    return found


def say_plan_inspect(*, game_id: str, npc: str, text: str) -> SayPlan:
    """A say plan for the prompt inspector: like `say_prepare`, but for any NPC, present or not."""
    game, ctx, _ = _open(game_id, for_update=False)
    if npc not in ctx.world.npcs:
        raise Refusal("No such NPC.", code="unknown_npc")
    return _say_plan(ctx, game, None, npc, text)


def say_commit(*, plan: SayPlan, reply: str, source: str, actions: tuple[ProposedAction, ...] = ()) -> TurnResult:
    """Store a finished NPC reply as a turn and apply what the conversation changes, exactly once."""

    def run() -> TurnResult:
        opened = _open_unless_replayed(plan.game_id, plan.client_id, for_update=True, tavern_id=plan.tavern_id)
        if isinstance(opened, TurnResult):
            return opened
        game, ctx, restored = opened
        if plan.npc in ctx.world.npcs:
            if not plan.private:  # a name whispered stays out of the situation every public prompt carries
                ctx.state.player_name = player_name_in(plan.line) or ctx.state.player_name
            talk.conversation_apply(ctx, plan.npc, plan.line)
            for action in actions:
                proposals.proposal_apply(ctx, plan.npc, action)
        extra_lines = list(ctx.lines)
        version = _save(game, ctx)
        final = {"type": "npc.end", "reply_to": plan.client_id, "npc": plan.npc, "text": reply, "source": source}
        _log_turn(game, plan.client_id, "say", plan.line, final, minute=ctx.state.minute, npc=plan.npc, source=source)
        extra = _restored_frames(restored) + ((({"type": "narration", "reply_to": None, "text": "\n".join(extra_lines)}),) if extra_lines else ())
        return TurnResult(final=final, state=engine.state_frame(ctx, game_id=str(game.pk), version=version), extra=extra)

    return _with_retries(run)


def narration_commit(*, plan: NarratePlan, text: str | None) -> TurnResult:
    """Store a narrated turn (or, without narration, the in-world refusal) exactly once."""

    def run() -> TurnResult:
        game, state, _ = _load(plan.game_id, for_update=True, replay_of=plan.client_id)
        if (replayed := _replayed(game, plan.client_id)) is not None:
            return replayed
        final = {"type": "narration", "reply_to": plan.client_id, "text": text, "source": "narrator"} if text else plan.fallback
        _log_turn(game, plan.client_id, "command", plan.line, final, minute=state.minute, source="llm" if text else "")
        return TurnResult(final=final)

    return _with_retries(run)
