"""NPC memory: what each NPC remembers of each game's player, kept bounded for a whole campaign.

Raw turns and observations, pinned facts the player revealed, and summaries that fold old turns;
each with an importance score and an embedding. `selectors.memory_retrieve` picks the best of them
for a prompt under a token budget; `services` records, summarises, archives and forgets.

An exchange is recorded as soon as the reply is stored, with no model pass: texts not embedded yet
are kept `embedding_pending` and embedded in the background (`tasks.embed_pending` on a Celery
worker, or one low-priority thread of the game process in the embedded mode; `tasks.embed_due`
every minute catches any left). The newest turns are shown to the NPC as the recent conversation,
not retrieved, so they are embedded long before retrieval could choose them; if not, retrieval
embeds them itself.
"""
