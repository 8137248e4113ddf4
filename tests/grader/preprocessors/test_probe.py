"""The runtime probe's bookkeeping: what changed, worded for a person; warnings only."""

from grader.preprocessors import probe


def test_probe_changes_ignore_what_changes_on_its_own_and_only_warn():
    before = {"numpy.allclose": "1:2", "builtins.input": "3:0", "user:np": "5:0",
              "user:x": "7:0", "user:len": "absent", "user:check": "absent"}
    after = {"numpy.allclose": "9:9", "builtins.input": "4:0", "user:np": "5:0",
             "user:x": "data", "user:len": "8:0", "user:check": "6:0", "new": "1"}
    assert probe.changes(before, after) == [
        ("numpy.allclose", "review"), ("user:len", "review"), ("user:x", "review")]
    assert "numpy.allclose" in probe.describe("numpy.allclose")


def test_probe_parse_survives_garbage():
    assert probe.parse({"content": {"status": "error"}}) is None
    reply = {"content": {"status": "ok", "user_expressions": {"probe": {
        "status": "ok", "data": {"text/plain": repr('{"a": "1"}')}}}}}
    assert probe.parse(reply) == {"a": "1"}
