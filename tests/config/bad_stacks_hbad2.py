"""One-value breaks of the example stacks that still passed (helper `hbad2`: a scripted sweep of every leaf and
mapping of every example stack - wrong type, empty, negative, huge, case, unknown value, unicode, whitespace - run
through mldeploy's load; each case below exited 0, or 1 with a traceback, before its rule), part of the corpus's
`semantic` class (tests/config/bad_stacks.py CLASSES), and their valid neighbours (tests/config/valid_stacks.py).
The rule's source is cited beside the rule."""
from __future__ import annotations

from typing import Any, Callable, Iterator

from tests.config.bad_stacks_hbad import _case_maker

S, E, IMG = "mldeploy:services", "mldeploy:edge", "mldeploy:images"
ROUTE = "FROM /messages/modules/diabetes/outputs/* INTO $upstream"


def _renamed_twice(node: dict, name: str, spaced: str, change: Callable[[Any], Any] = lambda v: v) -> None:
    """Add `spaced` (the key `name` with whitespace around it) beside `name`, its value changed by `change`."""
    node[spaced] = change(node[name])


def hbad2_cases() -> Iterator[Any]:
    case = _case_maker("semantic")
    # -- an at-scale deployment's targetCondition that IoT Hub's query language does not parse -------------------
    for label, condition, fragment in (
            ("unclosed-quote", "tags.model='diabetes AND tags.environment='edge'", "never closed"),
            ("unclosed-quote-at-end", "tags.model='diabetes' AND tags.environment='edge", "never closed"),
            ("unclosed-double-quote", 'tags.model="diabetes', "never closed"),
            ("unclosed-paren", "(tags.model='diabetes' AND tags.environment='edge'", "never closed"),
            ("extra-paren", "tags.model='diabetes') AND tags.environment='edge'", "closes nothing"),
            ("closes-nothing", "tags.model='diabetes')", "closes nothing"),
            ("paren-closed-by-bracket", "tags.model IN ['diabetes')", "expected ']'"),
            ("trailing-and", "tags.model='diabetes' AND", "no operand after it"),
            ("two-operands", "tags.model='diabetes' tags.environment='edge'", "without an operator"),
            ("text-after-string", "tags.model='diabetes'xx", "without an operator"),
            ("semicolon", "tags.model='diabetes';", "not part of IoT Hub's query language"),
            ("at-sign", "tags.model @ 'diabetes'", "not part of IoT Hub's query language"),
            ("zero-width-space-after-string", "tags.model='diabetes'\u200b", "without an operator"),
            ("unclosed-comment", "tags.model='diabetes' /* for the clinics", "never closed"),
            ("bad-escape", "tags.model='dia\\nbetes'", "escape"),
            ("double-equals", "tags.model == 'diabetes'", "where an operand")):
        yield case(f"edge-target-condition-{label}", "edge",
                   lambda c, v=condition: c[E]["clinics"].update(targetCondition=v), f"{E}.clinics.targetCondition",
                   fragment)
    # -- an edge route with an empty name: edgeHub's RouteConfig refuses it (and with it every route) ------------
    for label, name in (("empty", ""), ("spaces", "   ")):
        yield case(f"edge-route-name-{label}", "edge", lambda c, n=name: c[E]["clinics"].update(routes={n: ROUTE}),
                   f"{E}.clinics.routes", "empty name")
    # -- a route whose WHERE condition edgeHub's grammar cannot parse (it refuses every route then) ---------------
    for label, where, fragment in (
            ("unclosed-quote", "$body.site = 'lab", "never closed"),
            ("unclosed-paren", "(IS_DEFINED($body.value)", "never closed"),
            ("extra-paren", "IS_DEFINED($body.value))", "closes nothing"),
            ("bad-escape", "$body.site = 'l\\ab'", "escape"),
            ("unclosed-comment", "$body.value > 1 /* alerts", "never closed")):
        yield case(f"edge-route-where-{label}", "edge", lambda c, w=where: c[E]["clinics"].update(
            routes={"scores": f"FROM /messages/modules/diabetes/outputs/* WHERE {w} INTO $upstream"}),
            f"{E}.clinics.routes", fragment)
    # -- a liveness probe asking for 2+ successes (Azure ML: "fixed as 1"; Kubernetes: "must be 1") -------------
    for stack, dep in (("managed", "blue"), ("managed", "green"), ("managed", "shadow")):
        yield case(f"{stack}-{dep}-liveness-success-threshold-2", stack,
                   lambda c, d=dep: c[S]["diabetes"]["deployments"][d].update(livenessProbe={"successThreshold": 2}),
                   f"{S}.diabetes.deployments.{dep}.livenessProbe", "only 1")
    # -- a probe's initialDelaySeconds of 0 (Azure ML's ProbeSettings: "Minimum value is 1") ---------------------
    for stack, dep, probe in (("managed", "blue", "livenessProbe"), ("managed", "green", "readinessProbe"),
                              ("kubernetes-endpoint", "blue", "readinessProbe")):
        yield case(f"{stack}-{dep}-{probe}-initial-delay-0", stack,
                   lambda c, d=dep, p=probe: c[S]["diabetes"]["deployments"][d].update({p: {"initialDelaySeconds": 0}}),
                   f"{S}.diabetes.deployments.{dep}.{probe}.initialDelaySeconds", "greater than or equal to 1")
    # -- two keys of one mapping that are one once read without surrounding whitespace (one replaced the other) --
    yield case("dev-tag-twice-with-a-space", "dev",
               lambda c: _renamed_twice(c["mldeploy:tags"], "owner", " owner", lambda v: "someone-else"),
               "mldeploy:tags.owner", "written twice")
    yield case("edge-env-twice-with-a-tab", "edge",
               lambda c: _renamed_twice(c[E]["clinics"]["env"], "WORKER_COUNT", "WORKER_COUNT\t", lambda v: "7"),
               f"{E}.clinics.env.WORKER_COUNT", "written twice")
    yield case("managed-deployment-twice-with-a-space", "managed",
               lambda c: _renamed_twice(c[S]["diabetes"]["deployments"], "blue", " blue"),
               f"{S}.diabetes.deployments.blue", "written twice")
    yield case("containerapp-revision-twice-with-a-space", "containerapp",
               lambda c: _renamed_twice(c[S]["diabetes-aca"]["revisions"], "blue", "blue "),
               f"{S}.diabetes-aca.revisions.blue", "written twice")
    yield case("dev-service-twice-with-a-space", "dev",
               lambda c: _renamed_twice(c[S], "diabetes-aci", "diabetes-aci "), f"{S}.diabetes-aci", "written twice")
    # -- an entry script name longer than the file system holds: OSError (ENAMETOOLONG) traceback before ---------
    yield case("kubernetes-endpoint-entry-script-name-too-long", "kubernetes-endpoint",
               lambda c: c[IMG]["diabetes"].update(entryScript="score" + "x" * 300 + ".py"),
               f"{IMG}.diabetes.entryScript", "File name too long")


def hbad2_valid_cases() -> Iterator[Any]:
    from tests.config.bad_stacks import Case, _dump, _load

    def case(id_: str, kind: str, stack: str, edit: Callable[[dict], None]) -> Case:
        d = _load(stack)
        edit(d["config"])
        return Case(id_, kind, stack, _dump(d), "")

    # Target conditions IoT Hub's query language reads (iot-hub-devguide-query-language.md): AND/OR/NOT in any
    # case, parentheses, IN/NIN with an array, functions, numbers (decimal, 0x), escapes, "..." strings, any text
    # inside a string (';', quotes of the other kind, non-ASCII), property names with '-', '#' or another script
    # (IoT Edge's lexer of the language reads them as one name), comments.
    for i, condition in enumerate((
            "(tags.model='diabetes' OR tags.model = \"diabetes\") and not tags.environment = 'dev'",
            "tags.model='diabetes' AND tags.site IN ['a', 'b'] AND tags.site NIN ['c']",
            "tags.model='diabetes' AND IS_DEFINED(properties.reported.lastStatus) AND capabilities.iotEdge = true",
            "tags.model='diabetes' AND tags.rack >= 0x1F AND tags.temp < -1.5e3",
            "tags.model='it\\'s; \"fine\" é \\u00e9' AND tags.région = 'Zürich'",
            "tags.model = 'diabetes' AND tags.site NOT IN ['lab']",
            "tags.model = 'diabetes' AND tags.my-site#1 != 'lab' /* (lab excluded) */ AND tags.rack[0].slot = -1")):
        yield case(f"edge-target-condition-grammar-{i}", "names", "edge",
                   lambda c, v=condition: c[E]["clinics"].update(targetCondition=v))
    # A route condition with parentheses and quotes inside strings, a comment, functions and message properties.
    yield case("edge-route-where-grammar", "names", "edge", lambda c: c[E]["clinics"].update(routes={
        "scores": "FROM /messages/modules/diabetes/outputs/* WHERE (IS_DEFINED($body.value) AND $body.site = 'lab (1)')"
                  " OR $connectionModuleId = \"it's\" /* (any */ INTO $upstream"}))
    # Liveness with the one success it takes, readiness asking for more, first probes after 1 s.
    yield case("managed-probes-at-their-limits", "sizes", "managed",
               lambda c: c[S]["diabetes"]["deployments"]["blue"].update(
                   livenessProbe={"successThreshold": 1, "initialDelaySeconds": 1, "failureThreshold": 30},
                   readinessProbe={"successThreshold": 3, "initialDelaySeconds": 1, "failureThreshold": 30}))
    # A key with whitespace around it and no twin is read as the key (as before).
    yield case("dev-tag-with-a-space-alone", "tags", "dev",
               lambda c: c["mldeploy:tags"].update({" site": "lab"}))
