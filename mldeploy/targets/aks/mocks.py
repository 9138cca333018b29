"""Synth's mock answers for AKS (components/aks_cluster.py, aks_service.py): a created cluster's
computed outputs, an attachable cluster, its user kubeconfig, a LoadBalancer's status."""
from __future__ import annotations

import base64
import hashlib

from mldeploy.contract import DEFAULT_MIN_KUBERNETES
from mldeploy.targets.fakes import SUBSCRIPTION_ID, TENANT_ID, fake, stable_uuid
from mldeploy.targets.target import MockDefaults

AKS_SERVER_APP = "6dae42f8-4368-4678-94ff-3960e28e3630"  # AKS AAD server app (kubelogin docs)
AZURE_CLI_APP = "80faf920-1908-4b52-b5ef-a8e7bedfc67a"   # the client id AKS writes for devicecode


def _kubelet(stack: str, cluster: str) -> dict:
    return {"kubeletidentity": {"objectId": stable_uuid("kubelet", stack, cluster),
                                "clientId": stable_uuid("kubelet-client", stack, cluster)}}


def _cluster(n: str, i: dict, m) -> dict:
    version = str(i.get("kubernetesVersion") or DEFAULT_MIN_KUBERNETES)
    return {
        "name": i.get("resourceName", n),
        "fqdn": f"{i.get('dnsPrefix', n)}-1a2b3c4d.hcp.{i.get('location', 'westeurope')}.azmk8s.io",
        "currentKubernetesVersion": f"{version}.6" if version.count(".") == 1 else i.get("kubernetesVersion"),
        "identityProfile": _kubelet(m.stack, i.get("resourceName", n)),
    }


def _existing_cluster(a: dict, m) -> dict:
    """An existing cluster big and new enough to attach (tests pass other answers via `lookups`)."""
    return {
        "id": (f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{a.get('resourceGroupName')}/providers/"
               f"Microsoft.ContainerService/managedClusters/{a.get('resourceName')}"),
        "name": a.get("resourceName"), "location": "westeurope",
        "kubernetesVersion": DEFAULT_MIN_KUBERNETES, "currentKubernetesVersion": f"{DEFAULT_MIN_KUBERNETES}.6",
        "fqdn": f"{a.get('resourceName')}-5e6f7a8b.hcp.westeurope.azmk8s.io",
        "agentPoolProfiles": [{"name": "system", "vmSize": "Standard_D4s_v5", "count": 3, "mode": "System"}],
        "identityProfile": _kubelet(m.stack, str(a.get("resourceName"))),
    }


def _storage_keys(a: dict, m) -> dict:
    return {"keys": [
        {"keyName": f"key{k}", "permissions": "FULL",
         "value": m.secret(base64.b64encode(fake("storagekey", m.stack, a.get("accountName", ""), k).encode()).decode())}
        for k in ("1", "2")]}


def _user_credentials(a: dict, m) -> dict:
    cluster = str(a.get("resourceName", ""))
    ca = m.ledger.add(fake("kubeca", m.stack, cluster))
    return {"kubeconfigs": [{"name": "clusterUser", "value": m.secret(base64.b64encode(
        mock_kubeconfig(cluster, a.get("format"), ca).encode()).decode())}]}


def _service_status(n: str, i: dict, m) -> dict:
    if (i.get("spec") or {}).get("type") != "LoadBalancer":
        return {}
    octet = int(hashlib.sha256(f"{m.stack}/{n}".encode()).hexdigest()[:2], 16)
    internal = "azure-load-balancer-internal" in str((i.get("metadata") or {}).get("annotations"))
    ip = f"10.224.0.{octet}" if internal else f"20.61.{octet}.10"
    return {"status": {"loadBalancer": {"ingress": [{"ip": ip}]}}}


def mock_kubeconfig(cluster: str, fmt: str | None, ca_data: str = "TU9DSw==") -> str:
    """What AKS returns for `format=exec`: kubelogin in its interactive devicecode mode. The
    kubeconfig is a secret output; its CA data goes into the ledger so that synth masks it in
    place and the rest (server, kubelogin arguments) stays reviewable."""
    if fmt != "exec":
        raise ValueError("the program must ask for format=exec (Entra ID clusters have no local accounts)")
    return (
        "apiVersion: v1\nkind: Config\nclusters:\n- name: " + cluster + "\n  cluster:\n"
        "    certificate-authority-data: " + ca_data + "\n"
        "    server: https://" + cluster + ".hcp.westeurope.azmk8s.io:443\ncontexts:\n"
        "- name: " + cluster + "\n  context: {cluster: " + cluster + ", user: clusterUser}\n"
        "current-context: " + cluster + "\nusers:\n- name: clusterUser\n  user:\n    exec:\n"
        "      apiVersion: client.authentication.k8s.io/v1beta1\n      command: kubelogin\n"
        "      args: [get-token, --environment, AzurePublicCloud, --server-id, " + AKS_SERVER_APP + ", "
        "--client-id, " + AZURE_CLI_APP + ", --tenant-id, " + TENANT_ID + ", --login, devicecode]\n"
        "      provideClusterInfo: false\n"
    )


MOCKS = MockDefaults(
    outputs={"azure-native:containerservice:ManagedCluster": _cluster,
             "kubernetes:core/v1:Service": _service_status},
    calls={"azure-native:containerservice:getManagedCluster": _existing_cluster,
           "azure-native:storage:listStorageAccountKeys": _storage_keys,
           "azure-native:containerservice:listManagedClusterUserCredentials": _user_credentials},
)
