"""The playtest: a line file played through the real game, and what the NPCs' replies score.

- `lines.py`: line files (loading, checking, ids).
- `runner.py`: playing them over the real websocket, one fresh game per top-level element, and the
  run's transcript and report.
- `scorecard/`: the figures over a transcript, overall, per NPC and per line.
- `replay.py`: golden runs, and the comparison of a new run with one.
- `judge.py`: the optional judge model's stay-in-character score.
The command is `manage.py playtest` (docs/playtest.md).
"""
