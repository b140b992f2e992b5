import json
from gameplay.playtest.scorecard import scorecard, report_markdown
def test_x(world):
    turns = [json.loads(l) for l in open('/tmp/pt/real/out/transcript.jsonl')]
    print(report_markdown(scorecard(turns, world=world), failing_limit=100))
    assert 0
