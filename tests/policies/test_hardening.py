"""Least privilege and hardening (policies/hardening.py): role assignments, anonymous registry
pull, the restricted Pod Security Standard. Hand-built cases for each check, then the real prod
program under Pulumi's mocks (synth) with one resource changed to violate each rule."""
from __future__ import annotations

import copy
import dataclasses

import pytest

from mldeploy.synth.policy import evaluate
from tests.harness import ROOT, synth
from tests.policies.helpers import DEPLOYMENT, REGISTRY, check, container, deployment, res

ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
SUB = "/subscriptions/00000000-0000-0000-0000-000000000000"
ACR = f"{SUB}/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/cr1"
ACR_PULL = f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/7f951dda-4ed3-4680-a7ca-43fe172d538d"
OWNER = f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635"


def _assignment(role: str, scope: str):
    return res(ROLE_ASSIGNMENT, {"roleDefinitionId": role, "scope": scope, "principalId": "p"}, "pull")


# -- role-assignments-least-privilege ------------------------------------------------------------

def test_a_narrow_role_on_one_resource_passes():
    assert check("role-assignments-least-privilege", _assignment(ACR_PULL, ACR)) == []
    assert check("role-assignments-least-privilege", _assignment(ACR_PULL, f"{SUB}/resourceGroups/rg")) == []


def test_owner_is_refused_wherever_it_is_scoped():
    messages = check("role-assignments-least-privilege", _assignment(OWNER, ACR))
    assert len(messages) == 1 and "Owner" in messages[0] and "privileged" in messages[0], messages


@pytest.mark.parametrize("scope, what", [(SUB, "a whole subscription"), ("/", "the whole tenant"),
                                         ("/providers/Microsoft.Management/managementGroups/mg", "a management group")])
def test_a_scope_wider_than_a_resource_group_is_refused(scope, what):
    messages = check("role-assignments-least-privilege", _assignment(ACR_PULL, scope))
    assert len(messages) == 1 and what in messages[0], messages


def test_the_forbidden_roles_are_a_setting():
    reader = f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"
    config = {"forbiddenRoles": {"acdd72a7-3385-48ef-bd42-f606fba81ae7": "Reader"}}
    assert check("role-assignments-least-privilege", _assignment(reader, ACR), config=config) != []
    assert check("role-assignments-least-privilege", _assignment(OWNER, ACR), config=config) == []


# -- registry-anonymous-pull-disabled ------------------------------------------------------------

def test_anonymous_pull_is_refused():
    assert check("registry-anonymous-pull-disabled", res(REGISTRY, {"anonymousPullEnabled": False})) == []
    assert check("registry-anonymous-pull-disabled", res(REGISTRY, {})) == []  # Azure's default: off
    messages = check("registry-anonymous-pull-disabled", res(REGISTRY, {"anonymousPullEnabled": True}, "cr"))
    assert len(messages) == 1 and "anonymous pull" in messages[0], messages


# -- kubernetes-pod-security ---------------------------------------------------------------------

HARDENED = {"allowPrivilegeEscalation": False, "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"}}


def _pod(security: dict | None = None, **pod_spec):
    doc = deployment(container(securityContext=dict(HARDENED if security is None else security)))
    doc["spec"]["template"]["spec"].update(pod_spec)
    return res(DEPLOYMENT, doc, "web")


def test_a_restricted_pod_passes():
    assert check("kubernetes-pod-security", _pod()) == []
    # runAsNonRoot and seccomp may come from the pod instead
    pod_level = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    container_level = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}}
    assert check("kubernetes-pod-security", _pod(container_level, securityContext=pod_level)) == []


def test_a_container_without_a_security_context_is_reported_with_every_missing_setting():
    (message,) = check("kubernetes-pod-security", _pod({}))
    for missing in ("allowPrivilegeEscalation", "runAsNonRoot", "seccompProfile", "capabilities.drop"):
        assert missing in message, message


@pytest.mark.parametrize("change, expected", [
    ({"privileged": True}, "privileged is true"),
    ({"runAsUser": 0}, "runAsUser is 0"),
    ({"capabilities": {"drop": ["ALL"], "add": ["SYS_ADMIN"]}}, "capabilities.add has SYS_ADMIN"),
    ({"seccompProfile": {"type": "Unconfined"}}, "seccompProfile.type is Unconfined"),
])
def test_each_escalation_is_reported(change, expected):
    messages = check("kubernetes-pod-security", _pod({**HARDENED, **change}))
    assert len(messages) == 1 and expected in messages[0], messages


def test_host_namespaces_and_host_path_are_reported():
    messages = check("kubernetes-pod-security", _pod(hostNetwork=True, volumes=[{"name": "docker", "hostPath": {
        "path": "/var/run/docker.sock"}}]))
    assert messages == ["web: spec.hostNetwork is true; the restricted Pod Security Standard forbids it",
                        "web: volume 'docker' is a hostPath; the restricted Pod Security Standard forbids it"]


# -- the real program under Pulumi's mocks, changed to violate each rule -------------------------

@pytest.fixture(scope="module")
def prod(tmp_path_factory):
    return synth("prod", tmp_path_factory.mktemp("prod"))


def _violations(result, change) -> list[str]:
    resources = copy.deepcopy(result.resources)
    change(resources)
    return [f"{v.policy}: {v.message}" for v in evaluate(dataclasses.replace(result, resources=resources), ROOT)]


def _first(resources, type_):
    return next(r for r in resources if r["type"] == type_)


def test_the_prod_stack_passes_and_each_change_trips_its_rule(prod):
    assert _violations(prod, lambda rs: None) == []

    def owner_on_the_subscription(rs):
        _first(rs, ROLE_ASSIGNMENT)["inputs"].update(roleDefinitionId=OWNER, scope=SUB)

    found = _violations(prod, owner_on_the_subscription)
    assert [v.split(":")[0] for v in found] == ["role-assignments-least-privilege"] * 2, found

    found = _violations(prod, lambda rs: _first(rs, REGISTRY)["inputs"].update(anonymousPullEnabled=True))
    assert [v.split(":")[0] for v in found] == ["registry-anonymous-pull-disabled"], found

    def privileged_scorer(rs):
        pod = _first(rs, DEPLOYMENT)["inputs"]["spec"]["template"]["spec"]
        pod["containers"][-1]["securityContext"]["privileged"] = True

    found = _violations(prod, privileged_scorer)
    assert [v.split(":")[0] for v in found] == ["kubernetes-pod-security"], found


# -- aml-compute-no-public-ssh -------------------------------------------------------------------

AML_COMPUTE = "azure-native:machinelearningservices:Compute"


def _compute(**inner):
    return res(AML_COMPUTE, {"properties": {"computeType": "AmlCompute", "properties": {
        "vmSize": "Standard_DS3_v2", **inner}}}, "nightly")


def test_a_cluster_with_ssh_disabled_passes():
    assert check("aml-compute-no-public-ssh", _compute(remoteLoginPortPublicAccess="Disabled")) == []
    # NotSpecified closes the port when the cluster is in a VNet
    assert check("aml-compute-no-public-ssh", _compute(subnet={"id": "/subscriptions/s/.../subnets/ml"})) == []
    kubernetes = res(AML_COMPUTE, {"properties": {"computeType": "Kubernetes", "properties": {}}})
    assert check("aml-compute-no-public-ssh", kubernetes) == []


@pytest.mark.parametrize("inner, said", [({"remoteLoginPortPublicAccess": "Enabled"}, "is Enabled"),
                                         ({}, "is not set (NotSpecified)"),
                                         ({"remoteLoginPortPublicAccess": "NotSpecified"}, "is NotSpecified")])
def test_a_cluster_with_a_public_ssh_port_is_refused(inner, said):
    messages = check("aml-compute-no-public-ssh", _compute(**inner))
    assert len(messages) == 1 and said in messages[0] and "Disabled" in messages[0], messages


def test_the_batch_stack_passes_and_a_public_ssh_port_trips_the_rule(tmp_path):
    batch = synth("batch", tmp_path)
    assert _violations(batch, lambda rs: None) == []

    def ssh_open(rs):
        compute = next(r for r in rs if r["type"] == AML_COMPUTE and r["inputs"]["properties"]["computeType"] == "AmlCompute")
        compute["inputs"]["properties"]["properties"]["remoteLoginPortPublicAccess"] = "Enabled"

    found = _violations(batch, ssh_open)
    assert [v.split(":")[0] for v in found] == ["aml-compute-no-public-ssh"], found


# -- storage-account-secure, production-key-vault-recoverable ------------------------------------

STORAGE = "azure-native:storage:StorageAccount"
VAULT = "azure-native:keyvault:Vault"
SAFE_STORAGE = {"allowBlobPublicAccess": False, "enableHttpsTrafficOnly": True, "minimumTlsVersion": "TLS1_2"}


def test_private_https_tls12_storage_passes():
    assert check("storage-account-secure", res(STORAGE, SAFE_STORAGE)) == []
    # the API's defaults: public access false, HTTPS only true
    assert check("storage-account-secure", res(STORAGE, {"minimumTlsVersion": "TLS1_2"})) == []


@pytest.mark.parametrize("change, expected", [
    ({"allowBlobPublicAccess": True}, "allowBlobPublicAccess is true"),
    ({"enableHttpsTrafficOnly": False}, "enableHttpsTrafficOnly is false"),
    ({"minimumTlsVersion": "TLS1_0"}, "minimumTlsVersion is TLS1_0"),
    ({"minimumTlsVersion": None}, "minimumTlsVersion is not set"),
])
def test_each_storage_weakness_is_reported(change, expected):
    props = {k: v for k, v in {**SAFE_STORAGE, **change}.items() if v is not None}
    messages = check("storage-account-secure", res(STORAGE, props, "st"))
    assert len(messages) == 1 and expected in messages[0], messages


def _vault(stack, **props):
    return res(VAULT, {"properties": {"enableSoftDelete": True, **props}}, "kv", stack)


def test_a_production_vault_needs_purge_protection():
    assert check("production-key-vault-recoverable", _vault("prod", enablePurgeProtection=True)) == []
    assert check("production-key-vault-recoverable", _vault("dev")) == []  # destroyable outside production
    (message,) = check("production-key-vault-recoverable", _vault("prod"))
    assert "enablePurgeProtection not true" in message, message
    (message,) = check("production-key-vault-recoverable", _vault("prod", enableSoftDelete=False,
                                                                     enablePurgeProtection=True))
    assert "enableSoftDelete not true" in message, message


def test_prod_s_storage_and_vault_changed_trip_their_rules(prod):
    found = _violations(prod, lambda rs: _first(rs, STORAGE)["inputs"].update(minimumTlsVersion="TLS1_1"))
    assert [v.split(":")[0] for v in found] == ["storage-account-secure"], found
    found = _violations(prod, lambda rs: _first(rs, VAULT)["inputs"]["properties"].pop("enablePurgeProtection"))
    assert [v.split(":")[0] for v in found] == ["production-key-vault-recoverable"], found
