"""mldeploy/targets/edge/condition.py: target conditions read with IoT Hub's query language grammar."""
from __future__ import annotations

import pytest

from mldeploy.targets.edge.condition import condition_problem

VALID = [
    "tags.model='diabetes' AND tags.environment='edge'", "deviceId='edge-01'", "properties.reported.lastStatus='200'",
    "tags.location.region IN ['US', 'EU']", "tags.a NIN ['x']", "tags.a NOT IN ['x']", "NOT IS_DEFINED(tags.x)",
    "NOT(tags.a='x')", "tags.a != 'x'", "tags.a!='x'", "tags.a <> 'x'", "capabilities.iotEdge = true",
    "(tags.a='x' OR tags.b='y') and tags.c=3", 'tags.a="it\\"s"', "tags.a='it\\'s \\u00e9'", "tags.n > 0x1F",
    "tags.n >= -1.5e3", "tags.n = .5", "tags.x.y[0] = 'a'", "tags.x[0].y = 'a'", "tags.région='Zürich'",
    "properties.reported.$metadata.x = 1", "tags.a = 'é 🙂 ; ( ['", "tags.a = ''", "tags.a IN []",
    "STARTS_WITH(deviceId, 'edge')", "tags.my-prop#1 = 'x'", "tags.x = 5 - 3", "tags.x=-1", "tags.a % 2 = 0",
    "tags.a = 'x' /* note ( ' */", "tags.a || 'x' = 'yx'", "tags.a ?? 'd' = 'd'",
]
INVALID = [
    ("tags.model='diabetes", "never closed"), ('tags.a="x', "never closed"), ("tags.a='x\\n'", "escape \\n"),
    ("tags.a='x' AND (tags.b='y'", "'(' at character 16 is never closed"), ("tags.a='x')", "closes nothing"),
    ("tags.a IN ['x')", "expected ']'"), ("tags.a IN ['x',", "missing at the end"), ("tags.a='x' AND", "no operand"),
    ("tags.a='x' or", "no operand"), ("tags.a='x'/", "no operand"), ("AND tags.a='x'", "where an operand"),
    ("tags.a == 'x'", "where an operand"), ("tags.a='x'xx", "without an operator"), ("tags.a 'x'", "without an operator"),
    ("tags.a='x'é", "without an operator"), ("tags.a='x'(", "without an operator"), ("tags.a='x';", "';' at character 11"),
    ("tags.a @ 1", "'@'"), ("tags.a = {1}", "'{'"), ("tags.a ? 1", "'?'"), ("tags.a: 1", "':'"),
    ("tags.a='x' /* open", "comment"), ("   ", "empty"),
]


@pytest.mark.parametrize("condition", VALID)
def test_a_condition_the_grammar_allows_is_read(condition):
    assert condition_problem(condition) is None


@pytest.mark.parametrize("condition,fragment", INVALID)
def test_a_condition_the_grammar_does_not_allow_names_why(condition, fragment):
    problem = condition_problem(condition)
    assert problem is not None and fragment in problem, f"{condition!r}: {problem!r}"


@pytest.mark.parametrize("condition,problem", [
    ("NOT IS_DEFINED($connectionModuleId)", None), ("$body.a = 'x)' AND ($body.b > 1)", None),
    ("$iothub-connection-device-id = 'd' /* ( */", None),
    ("$body.a = 'x", "never closed"), ("($body.a = 1", "'(' at character 1 is never closed"),
    ("$body.a = 1)", "closes nothing"), ("$body.a = 'x\\q'", "escape \\q"), ("$body.a = 1 /* x", "comment"),
])
def test_a_route_condition_is_checked_for_what_edgehubs_lexer_refuses(condition, problem):
    from mldeploy.targets.edge.condition import route_condition_problem

    found = route_condition_problem(condition)
    assert (found is None) if problem is None else (found is not None and problem in found), found
