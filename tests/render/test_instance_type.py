"""render/k8s.py `instance_type`: the InstanceType custom resources a kubernetes-endpoint stack
declares, validated offline. No CRD schema for amlarc.azureml.com/v1alpha1 is published (neither
Azure/AML-Kubernetes nor the docs ship one), so the schema below is written from the rules table
of how-to-manage-kubernetes-instance-types.md ("Custom instance type creation must meet the
following parameters and definition rules, or it fails"): name required and unique in the
cluster; cpu and memory requests and limits required, strings, not zero or empty; nvidia.com/gpu
an integer, in limits only; nodeSelector a map of strings. Names and quantities follow
Kubernetes' own rules (RFC 1123 subdomain; resource.Quantity's format)."""
from __future__ import annotations

import re

import jsonschema
import pytest

from mldeploy.targets.kubernetes_endpoint.settings import KubernetesEndpointSettings
from mldeploy.targets.online_endpoint.settings import DeploymentSettings
from mldeploy.targets.kubernetes_endpoint.instance_types import instance_types
from mldeploy.render.k8s import instance_type
from tests.harness import synth

# k8s.io/apimachinery/pkg/api/resource quantity.go: <signedNumber><suffix>, suffix binary (Ki..Ei),
# decimal SI (n u m k M G T P E) or decimal exponent.
QUANTITY = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$"
NON_ZERO = {"type": "string", "minLength": 1, "pattern": QUANTITY, "not": {"pattern": r"^[+-]?0*(\.0*)?[a-zA-Z]*$"}}
RESOURCES = {"type": "object", "required": ["cpu", "memory"],
             "properties": {"cpu": NON_ZERO, "memory": NON_ZERO}, "additionalProperties": False}
SCHEMA = {
    "type": "object", "required": ["apiVersion", "kind", "metadata", "spec"], "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "amlarc.azureml.com/v1alpha1"},
        "kind": {"const": "InstanceType"},
        "metadata": {"type": "object", "required": ["name"], "additionalProperties": False, "properties": {
            "name": {"type": "string", "maxLength": 253,
                     "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"}}},
        "spec": {"type": "object", "required": ["resources"], "additionalProperties": False, "properties": {
            "nodeSelector": {"type": "object", "additionalProperties": {"type": "string"}},
            "resources": {"type": "object", "required": ["requests", "limits"], "additionalProperties": False,
                          "properties": {"requests": RESOURCES, "limits": {
                              **RESOURCES, "properties": {**RESOURCES["properties"],
                                                          "nvidia.com/gpu": {"type": "integer", "minimum": 0}}}}}}},
    },
}


def test_the_schema_refuses_what_the_docs_refuse():
    good = {"apiVersion": "amlarc.azureml.com/v1alpha1", "kind": "InstanceType", "metadata": {"name": "small"},
            "spec": {"resources": {"requests": {"cpu": "100m", "memory": "1Gi"},
                                   "limits": {"cpu": "1", "memory": "1Gi", "nvidia.com/gpu": 1}}}}
    jsonschema.validate(good, SCHEMA)
    for bad in ({"cpu": "0", "memory": "1Gi"}, {"cpu": "", "memory": "1Gi"}, {"cpu": "1"},
                {"cpu": "1", "memory": "1Gi", "nvidia.com/gpu": 1}):
        doc = {**good, "spec": {"resources": {"requests": bad, "limits": good["spec"]["resources"]["limits"]}}}
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(doc, SCHEMA)


@pytest.mark.parametrize("cpu, memory", [(1, 1), (0.5, 2), (2.25, 0.75), (64, 256)])
def test_every_rendered_size_is_a_valid_instance_type(cpu, memory):
    service = KubernetesEndpointSettings(target="kubernetes-endpoint", cluster="c", deployments={
        "blue": DeploymentSettings(image="x", cpu_cores=cpu, memory_gb=memory, traffic_percent=100)})
    (plan,) = instance_types([service])
    doc = instance_type(plan)
    jsonschema.validate(doc, SCHEMA)
    assert doc["spec"]["resources"]["requests"] == doc["spec"]["resources"]["limits"]


def test_the_stacks_declared_instance_types_are_valid(tmp_path):
    result = synth("kubernetes-endpoint", tmp_path)
    declared = result.of_type("kubernetes:amlarc.azureml.com/v1alpha1:InstanceType")
    assert declared
    for r in declared:
        doc = {k: r["inputs"][k] for k in ("apiVersion", "kind", "metadata", "spec")}
        jsonschema.validate(doc, SCHEMA)
        assert re.fullmatch(r"mldeploy-\d+m-\d+mi", doc["metadata"]["name"]), doc["metadata"]["name"]
