"""The game's rules: pure functions over a game's state and the shared world, no I/O.

`engine.turn_apply` parses a line, runs the matching rule and returns what happened; the services
module loads and saves around it in one transaction.
"""
