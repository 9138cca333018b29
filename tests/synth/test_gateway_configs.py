"""synth/gateway_configs.py: writes the gateway configs the program declared, nothing rendered again."""
from __future__ import annotations

import pytest

from mldeploy.synth.gateway_configs import write_gateway_configs
from mldeploy.synth.run import SynthResult
from tests.harness import synth


@pytest.fixture(scope="module")
def dev(tmp_path_factory):
    return synth("dev", tmp_path_factory.mktemp("dev"))


def test_the_written_file_is_the_declared_text(tmp_path):
    declared = "# exactly what the program declared\n"
    result = SynthResult("s", None, [], {}, gateway_confs={"svc": declared})
    write_gateway_configs(result, tmp_path)
    assert (tmp_path / "gateway" / "svc" / "nginx.conf").read_text() == declared, "gateway/svc/nginx.conf"


def test_the_program_records_the_config_of_each_aci_service(dev):
    assert sorted(dev.gateway_confs) == ["diabetes-aci"], "stack dev: one ACI service, one declared gateway config"


def test_an_aks_service_has_no_gateway_file_its_configmap_is_in_k8s(tmp_path_factory):
    prod = synth("prod", tmp_path_factory.mktemp("prod"))
    assert prod.gateway_confs == {}, "AKS gateway configs are ConfigMaps, written under k8s/"
