"""Shared taverns (`/tavern/<name>/`): players' own games meeting in one room (docs/protocol.md, "A
shared tavern"; docs/scaling.md, "Shared taverns").

    names.py      what a tavern's name and a player's display name may be (pure)
    services.py   entering a tavern, patrons arriving, moving, renaming, leaving; each NPC's line; closing
    selectors.py  who is present where, a patron's name, what is claimed
    memory.py     whose memories a prompt may recall: the game's, its whispers', the room's
    room.py       one socket's place in a tavern: the state's players, what is said aloud, the NPC's turn
    hub.py        one listener per server process for a tavern's channel layer groups
"""
