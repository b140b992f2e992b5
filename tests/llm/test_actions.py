"""Action markers: parsed out of finished replies, never shown while streaming."""
from __future__ import annotations

import logging

from hypothesis import given, settings as hypothesis_settings, strategies as st

from llm.actions import MarkerFilter, ProposedAction, clean_reply, parse_actions


def stream_through(tokens: list[str]) -> tuple[list[str], str]:
    marker_filter = MarkerFilter()
    shown = [marker_filter.feed(token) for token in tokens]
    shown.append(marker_filter.flush())
    return shown, "".join(shown)


def test_parse__a_trailing_marker_becomes_an_action():
    text, actions = parse_actions("Here, love, on the house.\n[[action: give_item ale]]")

    assert text == "Here, love, on the house."
    assert actions == (ProposedAction("give_item", slug="ale"),)


def test_parse__every_kind_of_action():
    reply = (
        "Fine. [[action: relationship +2]] [[action: offer_job cellar-rats]] [[action: offer_bounty wolf_pelts]]"
        "[[action: reveal_rumour northern-dragon]] [[ACTION: Relationship -1]]"
    )

    text, actions = parse_actions(reply)

    assert text == "Fine."
    assert actions == (
        ProposedAction("relationship", amount=2),
        ProposedAction("offer_job", slug="cellar-rats"),
        ProposedAction("offer_bounty", slug="wolf_pelts"),
        ProposedAction("reveal_rumour", slug="northern-dragon"),
        ProposedAction("relationship", amount=-1),
    )


def test_parse__a_marker_mid_sentence_is_removed_too():
    text, actions = parse_actions("Take this [[action: give_item bread]] and go.")

    assert text == "Take this and go."
    assert actions == (ProposedAction("give_item", slug="bread"),)


def test_parse__malformed_markers_are_dropped_and_logged(caplog):
    reply = "No. [[action: fly_away now]] [[give ale]] [[action: relationship lots]] [[action: give_item two ales]]"

    with caplog.at_level(logging.WARNING, logger="llm.actions"):
        text, actions = parse_actions(reply)

    assert text == "No."
    assert actions == ()
    assert sum("malformed action marker" in r.message for r in caplog.records) == 4


def test_parse__an_unfinished_marker_at_the_end_is_hidden(caplog):
    with caplog.at_level(logging.WARNING, logger="llm.actions"):
        text, actions = parse_actions("Let me see... [[action: give_it")

    assert text == "Let me see..."
    assert actions == ()
    assert any("unfinished" in r.message for r in caplog.records)


def test_parse__plain_brackets_are_left_alone():
    assert parse_actions("The sign says [closed] today.") == ("The sign says [closed] today.", ())


def test_filter__a_marker_split_across_tokens_never_shows():
    tokens = ["Here", " you", " go", ". [", "[act", "ion: give", "_item ale", "]", "]"]

    shown, total = stream_through(tokens)

    assert total == "Here you go."
    assert not any("[" in piece or "action" in piece for piece in shown)


def test_filter__text_after_a_marker_still_streams():
    shown, total = stream_through(["Aye", " [[action: relationship +1]]", " and", " welcome", "."])

    assert total == "Aye and welcome."


def test_filter__shows_text_as_soon_as_it_is_safe():
    marker_filter = MarkerFilter()

    assert marker_filter.feed("Hello") == "Hello"
    assert marker_filter.feed(" there") == " there"
    assert marker_filter.feed(" [") == ""  # might be a marker
    assert marker_filter.feed("x") == " [x"  # it was not


def test_filter__keeps_the_raw_text_for_parsing_afterwards():
    marker_filter = MarkerFilter()
    for token in ["Take it", " [[action: give_item", " stew]]"]:
        marker_filter.feed(token)
    marker_filter.flush()

    assert parse_actions(marker_filter.text)[1] == (ProposedAction("give_item", slug="stew"),)


fragments = st.sampled_from([
    "Aye", " love", ",", ".", " ", "\n", "[", "]", "[x]", "word",
    "[[action: give_item secret-ale]]", "[[action: relationship +1]]", "[[nonsense]]", "[[action: give_",
])


@hypothesis_settings(max_examples=300, deadline=None)
@given(pieces=st.lists(fragments, max_size=25), cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=12))
def test_filter__streamed_output_is_the_clean_reply_and_never_leaks_a_marker(pieces, cuts):
    text = "".join(pieces)
    points = sorted({0, len(text), *(c for c in cuts if c <= len(text))})
    tokens = [text[a:b] for a, b in zip(points, points[1:])]

    shown, total = stream_through(tokens)

    assert total == clean_reply(text)
    assert "secret-ale" not in total and "action" not in total and "relationship" not in total
    assert "nonsense" not in total and "give_" not in total
