"""NPC memory: what each NPC remembers of each game's player, kept bounded for a whole campaign.

Raw turns and observations, pinned facts the player revealed, and summaries that fold old turns;
each with an importance score and an embedding. `selectors.memory_retrieve` picks the best of them
for a prompt under a token budget; `services` records, summarises, archives and forgets.
"""
