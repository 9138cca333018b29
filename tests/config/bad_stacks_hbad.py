"""One-value breaks of the example stacks that still passed (helper `hbad`, probed with `synth` on copies of
the example stacks: each case below exited 0, or 1 from the policy pack, before its rule), part of the corpus's
`semantic` class (tests/config/bad_stacks.py CLASSES), and their valid neighbours (tests/config/valid_stacks.py).
The rule's source is cited beside the rule."""
from __future__ import annotations

from typing import Any, Callable, Iterator

S, E, M, IMG = "mldeploy:services", "mldeploy:edge", "mldeploy:models", "mldeploy:images"


def _case_maker(klass: str) -> Callable[..., Any]:
    from tests.config.bad_stacks import Case, _dump, _load

    def case(id_: str, stack: str, edit: Callable[[dict], None], key: str, fragment: str = "") -> Case:
        d = _load(stack)
        edit(d["config"])
        return Case(id_, klass, stack, _dump(d), key, fragment)

    return case


def hbad_cases() -> Iterator[Any]:
    case = _case_maker("semantic")
    # -- a key written without a value (`version:`): YAML's null, which an optional key took as omitted ------
    for stack, path in (("dev", (M, "diabetes", "version")), ("prod", (S, "diabetes", "sampleRequest")),
                        ("dev", (IMG, "diabetes", "sampleRequest")), ("fpga", (S, "diabetes-fpga", "tlsEnabled")),
                        ("fpga", (S, "diabetes-fpga", "numReplicas")), ("edge", (E, "clinics", "hostPort")),
                        ("edge", (E, "clinics", "moduleName")), ("edge", (E, "clinics", "priority")),
                        ("managed", (S, "diabetes", "deployments", "blue", "instanceType")),
                        ("kubernetes-endpoint", ("mldeploy:clusters", "inference", "kubernetesVersion")),
                        ("prod", (S, "diabetes", "expectedLoad", "peakRequestsPerSecond")),
                        ("managed", (M, "diabetes-v2", "registeredName")), ("batch", ("mldeploy:resourceGroup",)),
                        ("batch", ("mldeploy:workspace", "name"))):
        def edit(c: dict, p: tuple = path) -> None:
            node = c
            for part in p[:-1]:
                node = node[part]
            node[p[-1]] = None
        yield case(f"{stack}-{'.'.join(path).removeprefix('mldeploy:')}-null", stack, edit, ".".join(path),
                   "has no value (null)")
    yield case("edge-env-null", "edge", lambda c: c[E]["clinics"]["env"].update(WORKER_COUNT=None),
               f"{E}.clinics.env.WORKER_COUNT", "has no value (null)")
    # -- the stack's own tags: an empty `environment` (the policy pack's exit 1 before), ours in another case --
    for stack in ("dev", "local"):
        yield case(f"{stack}-environment-tag-empty", stack, lambda c: c["mldeploy:tags"].update(environment=""),
                   "mldeploy:tags", "tag 'environment' is empty")
    for name in ("Environment", "ENVIRONMENT", "Managed-By"):
        def other_case(c: dict, n: str = name) -> None:
            c["mldeploy:tags"].pop("environment")
            c["mldeploy:tags"][n] = "prod"
        yield case(f"dev-tag-{name}-ours-in-another-case", "dev", other_case, "mldeploy:tags", "in another case")
    # -- azmlinfsrv's whole-number settings as text it cannot read (it does not start) ----------------------
    for name, value in (("WORKER_COUNT", "abc"), ("WORKER_COUNT", "0"), ("WORKER_COUNT", ""), ("WORKER_COUNT", "2.0"),
                        ("SCORING_TIMEOUT_MS", "5s"), ("SCORING_TIMEOUT_MS", "-1"), ("WORKER_TIMEOUT", "ten")):
        yield case(f"edge-env-{name}-{value or 'empty'}-not-a-number", "edge",
                   lambda c, n=name, v=value: c[E]["clinics"]["env"].update({n: v}), f"{E}.clinics.env",
                   "reads it as a whole number")
    yield case("managed-env-scoring-timeout-not-a-number", "managed",
               lambda c: c[S]["diabetes"]["deployments"]["blue"].update(environmentVariables={"SCORING_TIMEOUT_MS": "5s"}),
               f"{S}.diabetes.deployments.blue.environmentVariables", "reads it as a whole number")

    # -- a key in its Python (snake_case) spelling, which the models took besides the camelCase one ---------
    for stack, path, old, new in (
            ("dev", (IMG, "diabetes"), "condaFile", "conda_file"), ("prod", (S, "diabetes"), "cpuCores", "cpu_cores"),
            ("managed", (S, "diabetes"), "authMode", "auth_mode"), ("batch", ("mldeploy:batch", "nightly"),
                                                                   "entryScript", "entry_script"),
            ("edge", (E, "clinics"), "iotHub", "iot_hub"), ("prod", ("mldeploy:clusters", "prod"), "vmSize", "vm_size"),
            ("managed", (M, "diabetes-v2"), "registeredName", "registered_name"),
            ("managed", (S, "diabetes", "deployments", "blue"), "instanceType", "instance_type"),
            ("containerapp", (S, "diabetes-aca", "revisions", "blue"), "trafficPercent", "traffic_percent"),
            ("forest", (IMG, "forest", "batching"), "maxBatchSize", "max_batch_size"),
            ("prod", (S, "diabetes", "expectedLoad"), "requestSeconds", "request_seconds"),
            ("prod-attach", ("mldeploy:clusters", "shared", "attach"), "resourceGroup", "resource_group")):
        def rename(c: dict, p: tuple = path, o: str = old, n: str = new) -> None:
            node = c
            for part in p:
                node = node[part]
            items = list(node.items())
            node.clear()
            node.update({(n if k == o else k): v for k, v in items})
        yield case(f"{stack}-{new}-snake-case-key", stack, rename, ".".join((*path, new)), f"did you mean '{old}'")
    # -- an expected load whose every request outlasts the gateway's timeout (all 504s) ----------------------
    yield case("prod-expected-load-outlasts-timeout", "prod",
               lambda c: c[S]["diabetes"]["expectedLoad"].update(requestSeconds=6), f"{S}.diabetes",
               "every such request would get the gateway's 504")
    yield case("prod-expected-load-default-timeout", "prod", lambda c: (
        c[S]["diabetes"].pop("scoringTimeoutMs"), c[S]["diabetes"]["expectedLoad"].update(requestSeconds=60)),
        f"{S}.diabetes", "scoringTimeoutMs (60000 ms)")
    # -- a region listed twice in extraRegions (as an fpgaRegions entry twice) -------------------------------
    yield case("dev-extra-region-twice", "dev",
               lambda c: c.update({"mldeploy:extraRegions": ["newzealandsouth", "newzealandsouth"]}),
               "mldeploy:extraRegions", "listed twice")


def hbad_valid_cases() -> Iterator[Any]:
    from tests.config.bad_stacks import Case, _dump, _load

    def case(id_: str, kind: str, stack: str, edit: Callable[[dict], None]) -> Case:
        d = _load(stack)
        edit(d["config"])
        return Case(id_, kind, stack, _dump(d), "")

    # Non-ASCII text whose length is a multiple of 4 (synth's leak check tried it as base64 and stopped with a
    # traceback), in a description, a tag value and the resource group (ARM's `^[-\w\._\(\)]+$`: letters of any
    # script; Microsoft.Resources resources.json, ResourceGroups_CreateOrUpdate).
    yield case("dev-non-ascii-text", "text", "dev", lambda c: (
        c[M]["diabetes"].update(description="Modèle 1"), c["mldeploy:tags"].update(site="Zürich-1"),
        c.update({"mldeploy:resourceGroup": "rg-é"})))
    # Our own tags set by their own names (the value replaces the default), and createOptions' JSON null.
    yield case("dev-own-tags-by-their-names", "tags", "dev", lambda c: c["mldeploy:tags"].update(
        {"environment": "staging", "managed-by": "ml-platform"}))
    yield case("edge-create-options-null", "createOptions", "edge",
               lambda c: c[E]["clinics"].update(createOptions={"Hostname": None}))
    # azmlinfsrv's whole-number settings as whole numbers; WORKER_TIMEOUT 0 is gunicorn's "no timeout".
    yield case("edge-env-server-numbers", "env", "edge", lambda c: c[E]["clinics"]["env"].update(
        {"WORKER_COUNT": "4", "SCORING_TIMEOUT_MS": "60000", "WORKER_TIMEOUT": "0"}))
    # An expected load just under the timeout.
    yield case("prod-expected-load-under-timeout", "sizes", "prod",
               lambda c: c[S]["diabetes"]["expectedLoad"].update(requestSeconds=4.9))
