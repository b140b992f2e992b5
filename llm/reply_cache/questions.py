"""The canonical tavern questions: the common things players ask any NPC, each with exemplar
phrasings (what the matcher's nearest-neighbour search runs over) and what its words may be.

A question's `allows` lists the word classes (see `lexicon.py`) a line may contain and still mean
exactly this question; `needs` lists classes of which the line must contain at least one. Anything
else distinctive in the line (another topic, another time, a negation, a request, someone else's
name, a content word the question does not know) means the line asks something else, and the
cache is not used. The question's `text` is what the model is asked when a line matches it, so a
stored reply fits every phrasing of the question.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Question:
    key: str
    text: str
    exemplars: tuple[str, ...]
    allows: frozenset[str] = frozenset()
    needs: tuple[frozenset[str], ...] = ()  # each group: at least one of these classes or words
    words: frozenset[str] = frozenset()  # content words that keep the same meaning here


def _q(key: str, text: str, exemplars: list[str], *, allows: str = "", needs: str = "", words: str = "") -> Question:
    groups = tuple(frozenset(group.split()) for group in needs.split(";") if group.strip())
    return Question(key=key, text=text, exemplars=(text, *exemplars), allows=frozenset({"you", *allows.split()}),
                    needs=groups, words=frozenset(words.split()))


QUESTIONS: tuple[Question, ...] = (
    _q("about_self", "Tell me about yourself", [
        "Who are you?", "Who are you, really?", "What's your story?", "Tell me a bit about you.",
        "So who might you be?", "What kind of person are you?", "I'd like to know more about you.",
        "What should I know about you?", "Tell me your story.", "Who exactly are you?",
        "What are you all about?", "Introduce yourself.",
    ], allows="wh_who wh_what tell", needs="you", words="story kind person more bit exactly introduce all like tale"),
    _q("name", "What is your name?", [
        "What's your name?", "What are you called?", "Do you have a name?", "And what is your name, friend?",
        "May I know your name?", "Your name, please?", "What should I call you?", "How should I address you?",
        "What do people call you?", "What name do you go by?",
    ], allows="wh_what wh_how name call tell people", needs="name call address", words="address go known"),
    _q("role", "What do you do here?", [
        "What's your job here?", "What is your role here?", "What's your line of work?",
        "What do you do for a living?", "What work do you do here?", "What are your duties here?",
        "What's your trade?",
    ], allows="wh_what work vicinity", needs="you; work do role duty trade living", words="role duty line living trade"),
    _q("tavern", "Tell me about this tavern", [
        "What is this place?", "What kind of place is this?", "Tell me about this place.",
        "What can you tell me about the inn?", "What's the story of this tavern?",
        "Tell me about the Rusted Tankard.", "What sort of establishment is this?",
        "What's this tavern like?", "What should I know about this place?",
    ], allows="wh_what tell tavern", needs="tavern", words="kind sort story like all"),
    _q("drinks", "What do you have to drink?", [
        "What drinks do you have?", "What's there to drink?", "What are you pouring?",
        "What's on tap?", "What do you serve to drink?", "Any drinks?",
        "What have you got to drink?", "What can I drink here?",
        "Show me your drinks.", "What is there to drink around here?", "What can I get to drink?",
    ], allows="wh_what drink vicinity now_time tavern", needs="drink; what have got serve pouring tap there any anything get show",
       words="show get available"),
    _q("food", "What do you have to eat?", [
        "Is there any food?", "What food do you have?", "What's there to eat?",
        "What's cooking?", "Anything to eat?", "What have you got to eat?", "Do you serve food?",
        "What can I eat here?", "What's on the menu?",
        "Is there something to eat?", "What can I get to eat?",
    ], allows="wh_what food vicinity now_time tavern", needs="food; what have got serve cooking menu there any anything get something",
       words="get available"),
    _q("room", "Do you have a room for the night?", [
        "Can I rent a room?", "Is there a room free?", "Do you have rooms?", "Any rooms available?",
        "Where can I sleep tonight?", "Is there somewhere I can stay the night?",
        "Do you have a bed for the night?", "Can I stay here tonight?", "Are there rooms to let?",
        "I need a place to sleep tonight.", "Have you got a room free?",
    ], allows="wh_where lodging now_time daypart request tavern", needs="lodging",
       words="free available somewhere get"),
    _q("rumours", "Have you heard any rumours?", [
        "Any news?", "What's the latest gossip?", "Heard anything interesting lately?", "What's the news?",
        "Any rumours going around?", "What are people talking about?", "Got any gossip for me?",
        "Anything new around here?", "What have you heard lately?", "Any word on the street?",
        "Tell me the latest news.",
    ], allows="wh_what rumour tell people vicinity", needs="rumour new",
       words="interesting lately new latest street going good worth"),
    _q("work", "Is there any work to be had?", [
        "Do you have any work for me?", "Are there any jobs I could do?", "Any jobs going?",
        "Is anyone hiring?", "How can I earn some coin?", "Got any work for me?",
        "I'm looking for work.", "Do you need a hand with anything?", "Is there any way to make money here?",
        "Can I work for you?",
    ], allows="wh_how work money request", needs="work money hand", words="looking hand way make anyone going few"),
    _q("town", "Tell me about the town", [
        "What's around here?", "What is the town like?", "Tell me about this town.",
        "What's the village like?", "What should I know about the area?", "What's there to see around here?",
        "Tell me about the neighbourhood.", "What's the local area like?",
    ], allows="wh_what tell town vicinity", needs="town vicinity", words="like see"),
    _q("regulars", "Who are the regulars here?", [
        "Who drinks here?", "Who comes here often?", "Who are the locals?", "Tell me about the regulars.",
        "Who are these people?", "What sort of folk come in here?",
        "Who are your customers?",
    ], allows="wh_who wh_what tell people vicinity drink", needs="people local drink come",
       words="often sort come"),
    _q("greeting", "Hello there!", [
        "Hello.", "Hi.", "Good day.", "Greetings.", "Hey there.", "Good morning.", "Good evening.",
        "Good afternoon.", "Well met.", "Hail, friend.", "Hello, how do you do?", "Hiya.", "Evening.",
    ], allows="greeting daypart", needs="greeting daypart"),
    _q("how_are_you", "How are you?", [
        "How are you doing?", "How are you today?", "How's it going?", "How have you been?",
        "How fare you?", "How's life treating you?", "You doing well?",
        "How are you keeping?", "All well with you?",
    ], allows="wh_how wellbeing now_time", needs="you wellbeing; wh_how wellbeing",
       words="doing been thing life treating all everything have"),
    _q("farewell", "Goodbye.", [
        "Farewell.", "See you later.", "I'll be off now.", "Bye.", "Good night.", "I must be going.",
        "Take care.", "Until next time.", "See you around.", "I'm leaving now.", "I'd best be on my way.",
    ], allows="farewell now_time future_time tense_future vicinity mine", needs="farewell going way go until",
       words="going way best until time go"),
    _q("thanks", "Thank you.", [
        "Thanks.", "Thanks a lot.", "Thank you kindly.", "Much obliged.", "Many thanks.",
        "I appreciate it.", "Thanks for your help.", "Cheers, friend.", "My thanks.",
    ], allows="thanks deictic mine", needs="thanks", words="kindly lot help many bunch"),
)

QUESTIONS_BY_KEY: dict[str, Question] = {q.key: q for q in QUESTIONS}
