"""seal: a test cell's oracle(...) expressions removed, its lines kept."""

import ast

import pytest

from dlcourse import checks
from grader.preprocessors.seal import oracle_calls, seal


def test_every_oracle_call_becomes_the_stand_in_and_lines_are_kept():
    source = ("_x = rng.normal(size=3)\n"
              "assert_close(f(_x), oracle(tf.nn.softmax(_x,\n"
              "                                   axis=0).numpy()), name='é')  # a comment\n"
              "assert_equal(g(_x), checks.oracle([oracle(1), 2])[0], 'g')\n")
    sealed = seal(source)
    assert "softmax" not in sealed and "[oracle(1), 2]" not in sealed
    assert sealed.count("oracle.sealed") == 2 and "checks.oracle.sealed" in sealed
    assert len(sealed.splitlines()) == len(source.splitlines())
    assert sealed.splitlines()[0] == source.splitlines()[0]
    assert sealed.splitlines()[3].startswith("assert_equal(g(_x), (checks.oracle.sealed)[0]")
    ast.parse(sealed)


def test_a_sealed_cell_never_evaluates_its_oracles():
    seen = []
    space = {"oracle": checks.oracle, "checks": checks, "seen": seen,
             "f": lambda x: 2 * x}
    code = "checks.assert_close(f(2.0), oracle(seen.append('ran') or 1 / 0), name='f')"
    with checks.capture() as records:
        exec(seal(code), space)
    assert seen == [] and records[0]["expected"] == {"type": "sealed"}
    with pytest.raises(ZeroDivisionError):
        exec(code, space)  # as released: the oracle runs


def test_source_without_oracles_or_that_does_not_parse_is_left_as_it_is():
    assert seal("x = 1\nprint(x)\n") == "x = 1\nprint(x)\n"
    assert seal("def broken(:\n    oracle(1)") == "def broken(:\n    oracle(1)"
    assert [ast.unparse(c) for c in oracle_calls(ast.parse("oracle(oracle(1)) + oracle(2)"))
            ] == ["oracle(oracle(1))", "oracle(2)"]
