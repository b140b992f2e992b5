"""Database helpers the apps share, below all of them: they know Django's ORM and nothing of the game
(the project package, `tankard_site`, sits above the apps and wires them together)."""
