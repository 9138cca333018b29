"""mldeploy/targets/aks/checks.py (and the FPGA row, which runs them): the rules between an AKS
service and the rest of its stack - its namespace on its cluster, its pod against the cluster's
node size, an FPGA pool's name - refused at load with the whole message, key first."""
from __future__ import annotations

import copy

import pytest

from mldeploy.config import ConfigError
from mldeploy.targets.stack import parse_settings
from tests.harness import ROOT, stack_values

S = "mldeploy:services"


def _refused(stack: str, change) -> str:
    values, secrets = stack_values(stack)
    change(values)
    with pytest.raises(ConfigError) as err:
        parse_settings(stack, values, secrets, ROOT, f"stacks/Pulumi.{stack}.yaml")
    return str(err.value)


def _plain_aks(**more) -> dict:
    return {"target": "aks", "cluster": "fpga", "image": "diabetes", "tlsEnabled": False, **more}


def test_an_aks_service_may_not_take_an_fpga_services_namespace():
    msg = _refused("fpga", lambda v: v[S].update(web=_plain_aks(namespace="diabetes-fpga")))
    assert msg == ("stacks/Pulumi.fpga.yaml: mldeploy:services.web.namespace: namespace 'diabetes-fpga' is also "
                   "service 'diabetes-fpga''s on cluster 'fpga'; each service gets its own namespace"), msg


def test_of_two_services_in_one_namespace_the_later_by_name_is_refused():
    # `aa` sorts first, whatever the file's order: it keeps the namespace, `diabetes-fpga` is refused.
    msg = _refused("fpga", lambda v: v[S].update(aa=_plain_aks(namespace="diabetes-fpga")))
    assert msg.startswith("stacks/Pulumi.fpga.yaml: mldeploy:services.diabetes-fpga: namespace 'diabetes-fpga' "
                          "is also service 'aa''s on cluster 'fpga'"), msg


def test_an_aks_service_may_not_take_the_azure_ml_compute_namespace():
    msg = _refused("kubernetes-endpoint", lambda v: v[S].update(
        web={"target": "aks", "cluster": "inference", "image": "diabetes", "namespace": "azureml"}))
    assert msg == ("stacks/Pulumi.kubernetes-endpoint.yaml: mldeploy:services.web.namespace: namespace 'azureml' is "
                   "the Azure ML extension's compute namespace of kubernetes-endpoint service 'diabetes' on cluster "
                   "'inference'; mldeploy creates and owns the AKS service's namespace: choose another"), msg


def test_two_fpga_services_may_not_share_a_pool():
    def second(v):
        v[S]["other-fpga"] = copy.deepcopy(v[S]["diabetes-fpga"])
    msg = _refused("fpga", second)
    assert msg == ("stacks/Pulumi.fpga.yaml: mldeploy:services.other-fpga.fpgaPoolName: node pool 'fpga' is also "
                   "service 'diabetes-fpga''s on cluster 'fpga'"), msg


def test_an_fpga_pool_may_not_be_the_system_pool():
    msg = _refused("fpga", lambda v: v[S]["diabetes-fpga"].update(fpgaPoolName="system"))
    assert msg == ("stacks/Pulumi.fpga.yaml: mldeploy:services.diabetes-fpga.fpgaPoolName: 'system' is the "
                   "cluster's system node pool; name the FPGA pool otherwise (default: fpga)"), msg


def test_an_aks_pod_larger_than_a_node_is_refused_but_an_fpga_service_runs_on_its_own_pool():
    # The fpga stack's cluster: Standard_D3_v2 nodes (4 vCPUs).
    msg = _refused("fpga", lambda v: v[S].update(web=_plain_aks(cpuCores=4)))
    assert msg == ("stacks/Pulumi.fpga.yaml: mldeploy:services.web.cpuCores: cpuCores 4 + the gateway's 0.25 = 4.25 "
                   "CPUs per pod, more than a Standard_D3_v2 node gives pods (4 vCPUs less AKS's kube-reserved 140m "
                   "= 3.86 CPUs): the pod would never be scheduled; lower cpuCores or choose a larger vmSize"), msg
    # Under the node's 4 vCPUs but over its allocatable 3.86 (AKS node-resource-reservations).
    msg = _refused("fpga", lambda v: v[S].update(web=_plain_aks(cpuCores=3.7)))
    assert "3.95 CPUs per pod, more than a Standard_D3_v2 node gives pods" in msg, msg
    values, secrets = stack_values("fpga")
    values[S]["web"] = _plain_aks(cpuCores=3.6)  # 3.85 <= 3.86: fits
    parse_settings("fpga", values, secrets, ROOT, "stacks/Pulumi.fpga.yaml")
    values, secrets = stack_values("fpga")
    values[S]["diabetes-fpga"].update(cpuCores=4, memoryGb=8)
    parse_settings("fpga", values, secrets, ROOT, "stacks/Pulumi.fpga.yaml")  # its pods land on the PB pool
