"""mldeploy/synth/provider_ids.py: the ids of what is not azure-native have their provider's shape."""
from __future__ import annotations

import base64
import json
import re
from pathlib import Path

from mldeploy.components.endpoint_traffic import EndpointTrafficProvider
from mldeploy.synth.mocks import SecretLedger, SynthMocks
from mldeploy.synth.provider_ids import provider_id

SNAPSHOTS = Path(__file__).resolve().parents[1] / "stacks" / "snapshots"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def _id(typ: str, inputs: dict, name: str = "res") -> str:
    return SynthMocks("prod", SecretLedger()).resource_id(typ, inputs, name)


def test_a_namespaced_kubernetes_object_is_namespace_slash_name():
    meta = {"name": "diabetes", "namespace": "mldeploy-prod"}
    assert _id("kubernetes:apps/v1:Deployment", {"metadata": meta}, "aks-diabetes") == "mldeploy-prod/diabetes"


def test_an_unnamed_kubernetes_object_gets_the_provider_s_auto_name_and_a_cluster_object_has_no_namespace():
    """pulumi-kubernetes names an object without metadata.name `<Pulumi name>-<8 of [a-f0-9]>`
    (provider/pkg/metadata/naming.go; naming_test.go: "foo" -> 12 characters)."""
    unnamed = _id("kubernetes:core/v1:ConfigMap", {"metadata": {"namespace": "ns"}}, "gateway-conf")
    assert re.fullmatch(r"ns/gateway-conf-[0-9a-f]{8}", unnamed), unnamed
    assert unnamed == _id("kubernetes:core/v1:ConfigMap", {"metadata": {"namespace": "ns"}}, "gateway-conf"), "stable"
    assert _id("kubernetes:core/v1:Namespace", {"metadata": {"name": "mldeploy-prod"}}, "ns") == "mldeploy-prod"


def test_the_mock_returns_the_auto_name_and_its_annotation_as_the_provider_does():
    from pulumi.runtime.mocks import MockResourceArgs

    mocks = SynthMocks("prod", SecretLedger())
    args = MockResourceArgs(typ="kubernetes:core/v1:Secret", name="diabetes-keys", inputs={
        "metadata": {"namespace": "mldeploy-prod", "labels": {"app": "diabetes"}}, "type": "Opaque"},
        provider=None, resource_id=None, custom=True)
    rid, state = mocks.new_resource(args)
    name = state["metadata"]["name"]
    assert re.fullmatch(r"diabetes-keys-[0-9a-f]{8}", name) and rid == f"mldeploy-prod/{name}", (rid, state)
    assert state["metadata"]["annotations"] == {"pulumi.com/autonamed": "true"}, state
    named = MockResourceArgs(typ="kubernetes:core/v1:Secret", name="diabetes-keys", inputs={
        "metadata": {"name": "keys", "namespace": "mldeploy-prod"}}, provider=None, resource_id=None, custom=True)
    assert mocks.new_resource(named)[1]["metadata"] == {"name": "keys", "namespace": "mldeploy-prod"}


def test_no_synthesized_kubernetes_object_keeps_a_bare_pulumi_name():
    """Every ConfigMap/Secret the stacks leave unnamed shows the provider's shape in resources.json's
    references and in k8s/ (a bare `diabetes-keys` is a name the cluster never holds)."""
    for stack in ("prod", "fpga"):
        manifests = sorted((SNAPSHOTS / stack / "k8s").rglob("*.yaml"))
        names = [p.name for p in manifests if p.name.startswith(("configmap-", "secret-"))]
        assert names and all(re.search(r"-[0-9a-f]{8}\.yaml$", n) for n in names), (stack, names)


def test_a_secret_whose_content_would_replace_it_gets_a_new_auto_name_an_update_keeps_it():
    """pulumi-kubernetes replaces a Secret on `type`, `stringData`, `data` (provider/pkg/provider/diff.go
    forceNew) and gives a replaced auto-named object a new name (tests/sdk/nodejs/autonaming step2); an
    update keeps the name (step3). Synth's name follows: a label changes nothing, the data does."""
    def name(typ, **inputs):
        return _id(typ, {"metadata": {"namespace": "ns", **inputs.pop("meta", {})}, **inputs}, "diabetes-env")
    secret = "kubernetes:core/v1:Secret"
    before = name(secret, stringData={"stable.DB_PASSWORD": "a"})
    assert before == name(secret, stringData={"stable.DB_PASSWORD": "a"}, meta={"labels": {"team": "x"}}), \
        "a label is an update: the same name"
    for replacing in ({"stringData": {"stable.DB_PASSWORD": "b"}},
                      {"stringData": {"stable.DB_PASSWORD": "a", "stable.API_TOKEN": "c"}},
                      {"stringData": {"stable.DB_PASSWORD": "a"}, "type": "kubernetes.io/tls"}):
        after = name(secret, **replacing)
        assert after != before and re.fullmatch(r"ns/diabetes-env-[0-9a-f]{8}", after), (replacing, after)
    config_map = "kubernetes:core/v1:ConfigMap"
    # mldeploy's cluster providers set enableConfigMapMutable: a ConfigMap's data is an update unless `immutable`.
    assert name(config_map, data={"a": "1"}) == name(config_map, data={"a": "2"})
    assert name(config_map, data={"a": "1"}, immutable=True) != name(config_map, data={"a": "2"}, immutable=True)


def test_random_ids_are_the_providers():
    assert _id("random:index/randomPassword:RandomPassword", {"length": 32.0}) == "none"
    rid = _id("random:index/randomId:RandomId", {"byteLength": 3.0}, "suffix")
    assert re.fullmatch(r"[A-Za-z0-9_-]{4}", rid), rid
    mocks = SynthMocks("prod", SecretLedger())
    hex_out = mocks.outputs["random:index/randomId:RandomId"]("suffix", {"byteLength": 3.0}, mocks)["hex"]
    assert base64.urlsafe_b64decode(rid + "=" * (-len(rid) % 4)).hex() == hex_out, "id and hex hold the same bytes"


def test_docker_and_provider_resources():
    assert _id("docker:index/image:Image", {"imageName": "cr.azurecr.io/diabetes:1-abc"}) == "cr.azurecr.io/diabetes:1-abc"
    assert re.fullmatch(r"[0-9a-f]{64}", _id("docker:index/container:Container", {}, "scorer"))
    remote = _id("docker:index/remoteImage:RemoteImage", {"name": "nginx:1.27"}, "gateway-image")
    assert re.fullmatch(r"sha256:[0-9a-f]{64}nginx:1\.27", remote), remote
    assert re.fullmatch(UUID, _id("pulumi:providers:kubernetes", {}, "aks-prod"))


def test_endpoint_traffic_gets_the_id_its_provider_creates():
    props = {"endpointId": "/subscriptions/0/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/w/"
                           "onlineEndpoints/diabetes", "traffic": {"blue": 100}, "mirrorTraffic": {}}

    class Arm:
        def get(self, resource_id, api_version):
            return {"properties": {"traffic": {}, "mirrorTraffic": {}}, "location": "westeurope"}

        def put_and_wait(self, resource_id, api_version, body):
            return body

    created = EndpointTrafficProvider(Arm).create(dict(props))
    assert _id("pulumi-python:dynamic/mldeploy:EndpointTraffic", props) == created.id == props["endpointId"] + "/traffic"


def test_every_custom_resource_the_stacks_create_gets_its_providers_id():
    unknown = sorted({r["type"] for f in SNAPSHOTS.glob("*/resources.json") for r in json.loads(f.read_text())
                      if not r["type"].startswith("mldeploy:")
                      and provider_id(r["type"], r.get("inputs") or {}, r["name"], "s") is None})
    assert not unknown, f"types synthesized without their provider's id shape (mldeploy/synth/provider_ids.py): {unknown}"


def _referenced_names(node, found: set[tuple[str, str]]) -> None:
    """(kind, name) of every ConfigMap/Secret a workload's pod spec refers to."""
    if isinstance(node, dict):
        for key, kind, field in (("secret", "Secret", "secretName"), ("configMap", "ConfigMap", "name"),
                                 ("secretKeyRef", "Secret", "name"), ("configMapKeyRef", "ConfigMap", "name"),
                                 ("secretRef", "Secret", "name"), ("configMapRef", "ConfigMap", "name")):
            ref = node.get(key)
            if isinstance(ref, dict) and ref.get(field):
                found.add((kind, ref[field]))
        for value in node.values():
            _referenced_names(value, found)
    elif isinstance(node, list):
        for value in node:
            _referenced_names(value, found)


def test_every_secret_and_config_map_a_workload_refers_to_is_written_under_that_name():
    """The name a Deployment refers to (what the mocks answered during the run) and the name of the written
    object are one: a Secret's auto-name is derived from its content, which synth records masked, so deriving
    it again from the record named the keys Secret diabetes-keys-82fd077f while the pod mounted
    diabetes-keys-7b5767fa (the container suite's prod pod: 'secret ... does not exist')."""
    import yaml

    checked = 0
    for folder in sorted(p for p in SNAPSHOTS.glob("*/k8s/*") if p.is_dir() and p.name != "_cluster"):
        objects = [yaml.safe_load(p.read_text()) for p in folder.glob("*.yaml")]
        have = {(o["kind"], o["metadata"]["name"]) for o in objects}
        # What cert-manager makes from a Certificate: its spec.secretName.
        have |= {("Secret", o["spec"]["secretName"]) for o in objects if o["kind"] == "Certificate"}
        for o in objects:
            if o["kind"] not in ("Deployment", "StatefulSet", "DaemonSet", "Job", "Pod"):
                continue
            refs: set[tuple[str, str]] = set()
            _referenced_names(o["spec"], refs)
            missing = sorted(refs - have)
            assert not missing, f"{folder.relative_to(SNAPSHOTS)}/{o['kind']} {o['metadata']['name']} refers to {missing}"
            checked += len(refs)
    assert checked > 10, checked
