"""Pulumi mocks that behave like the providers where the program needs it, and record every
resource registration (type, name, parent, inputs) for synth and tests.

Mocks are not providers: they do not invent names or mark outputs secret. So this
module returns realistic outputs for the few types whose outputs feed other resources, marks
generated secrets secret, and remembers every secret value it handed out so the recorder can
mask them wherever they end up.
"""
from __future__ import annotations

import base64
import hashlib
import json
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

import pulumi
from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs

from mldeploy.contract import DEFAULT_MIN_KUBERNETES
from mldeploy.pulumi_internals import MockMonitor, deserialize_properties, registered_options, wrap_wire_secret

SUBSCRIPTION_ID = "00000000-0000-0000-0000-000000000000"
TENANT_ID = "11111111-1111-1111-1111-111111111111"
# Types whose id the program parses (e.g. registry name and group for listRegistryCredentials):
# type token -> (ARM namespace, collection, input holding the name).
ARM_IDS = {
    "azure-native:containerregistry:Registry": ("Microsoft.ContainerRegistry", "registries", "registryName"),
    "azure-native:iothub:IotHubResource": ("Microsoft.Devices", "IotHubs", "resourceName"),
}


def _stable_uuid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(parts)))


def _fake(kind: str, *parts: str) -> str:
    """A deterministic stand-in secret (never a real credential)."""
    return f"mock-{kind}-" + hashlib.sha256("/".join(parts).encode()).hexdigest()[:24]


@dataclass(frozen=True)
class Registration:
    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    inputs: dict[str, Any]
    dependencies: tuple[str, ...] = ()  # URNs of depends_on (and input) dependencies
    # The resource options the program set (ignoreChanges, replaceOnChanges, deleteBeforeReplace,
    # protect, retainOnDelete, aliases): what `pulumi up` will do differently with this resource.
    options: dict[str, Any] = field(default_factory=dict)


class SecretLedger:
    """Every secret value the mocks or the config produced; used to mask synthesized files."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()

    def add(self, value: str) -> str:
        if isinstance(value, str) and len(value) >= 6:
            with self._lock:
                self._values.add(value)
        return value

    def values(self) -> list[str]:
        with self._lock:
            return sorted(self._values, key=len, reverse=True)


def _secret(value: Any) -> Any:
    return wrap_wire_secret(value)


# type token -> function(name, inputs, stack) -> extra outputs
OutputMaker = Callable[[str, dict, "SynthMocks"], dict]


def offline_acr_exchange(ledger: SecretLedger) -> Callable[[str, str, str], str]:
    """Stand-in for the run's ACR token exchange (RunContext.acr_exchange) under synth: no network; the token is a ledger secret."""
    return lambda server, tenant, token: ledger.add(_fake("acr-refresh-token", server, tenant))


class SynthMocks(pulumi.runtime.Mocks):
    """Echo inputs, add the outputs real providers compute, and mark generated secrets."""

    def __init__(self, stack: str, ledger: SecretLedger, lookups: dict[str, dict] | None = None):
        self.stack = stack
        self.ledger = ledger
        # Canned answers for get_* invokes (e.g. an attached AKS cluster), by invoke token.
        self.lookups = dict(lookups or {})
        self.outputs: dict[str, OutputMaker] = {}
        self.calls: dict[str, Callable[[dict, "SynthMocks"], dict]] = {}
        _register_defaults(self)

    # -- resources --------------------------------------------------------------------------

    def new_resource(self, args: MockResourceArgs):
        inputs = dict(args.inputs)
        name = args.name
        maker = self.outputs.get(args.typ)
        extra = maker(name, inputs, self) if maker else {}
        state = {**inputs, **extra}
        if args.typ.startswith("kubernetes:"):
            meta = dict(state.get("metadata") or {})
            meta.setdefault("name", name)
            state["metadata"] = meta
        rid = args.resource_id or self.resource_id(args.typ, inputs, name)
        return rid, state

    def resource_id(self, typ: str, inputs: dict, name: str) -> str:
        if typ.startswith("azure-native:"):
            rg = inputs.get("resourceGroupName", "rg")
            real = ARM_IDS.get(typ)
            if real is not None:  # the real ARM shape, for code that parses the id
                namespace, collection, name_key = real
                return (f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{rg}/providers/"
                        f"{namespace}/{collection}/{inputs.get(name_key, name)}")
            provider = typ.split(":")[1]
            kind = typ.split(":")[2]
            return (f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{rg}/providers/"
                    f"Microsoft.{provider}/{kind}/{name}")
        return f"{name}-id"

    # -- invokes ----------------------------------------------------------------------------

    def call(self, args: MockCallArgs):
        if args.token in self.lookups:
            return self.lookups[args.token]
        handler = self.calls.get(args.token)
        if handler is not None:
            return handler(dict(args.args), self)
        return {}

    def secret(self, value: str) -> Any:
        """Remember a generated secret and return it marked secret."""
        return _secret(self.ledger.add(value))


def _register_defaults(m: SynthMocks) -> None:
    o, c = m.outputs, m.calls

    o["azure-native:resources:ResourceGroup"] = lambda n, i, m: {"name": i.get("resourceGroupName", n)}
    o["azure-native:storage:StorageAccount"] = lambda n, i, m: {
        "name": i.get("accountName", n),
        "primaryEndpoints": {"blob": f"https://{i.get('accountName', n)}.blob.core.windows.net/"},
    }
    o["azure-native:containerregistry:Registry"] = lambda n, i, m: {
        "name": i.get("registryName", n),
        "loginServer": f"{i.get('registryName', n).lower()}.azurecr.io",
    }
    o["azure-native:keyvault:Vault"] = lambda n, i, m: {"name": i.get("vaultName", n)}
    o["azure-native:applicationinsights:Component"] = lambda n, i, m: {
        "name": i.get("resourceName", n),
        "instrumentationKey": m.secret(_stable_uuid("ikey", m.stack, n)),
        "connectionString": m.secret(
            f"InstrumentationKey={_stable_uuid('ikey', m.stack, n)};IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/"
        ),
    }
    o["azure-native:machinelearningservices:Workspace"] = lambda n, i, m: {
        "name": i.get("workspaceName", n),
        "workspaceId": _stable_uuid("workspace", m.stack, i.get("workspaceName", n)),
        "discoveryUrl": f"https://{i.get('location', 'westeurope')}.api.azureml.ms/discovery",
    }
    o["azure-native:machinelearningservices:ModelContainer"] = lambda n, i, m: {"name": i.get("name", n)}
    o["azure-native:machinelearningservices:ModelVersion"] = lambda n, i, m: {"name": i.get("version", n)}
    o["docker:index/image:Image"] = lambda n, i, m: {
        "imageName": i.get("imageName"),
        "repoDigest": str(i.get("imageName", n)).split(":")[0] + "@sha256:"
        + hashlib.sha256(json.dumps(i, sort_keys=True, default=str).encode()).hexdigest(),
    }
    o["azure-native:managedidentity:UserAssignedIdentity"] = lambda n, i, m: {
        "principalId": _stable_uuid("principal", m.stack, n), "clientId": _stable_uuid("client", m.stack, n),
        "tenantId": TENANT_ID,
    }
    o["azure-native:containerinstance:ContainerGroup"] = lambda n, i, m: {
        # The input lists identity IDs; the resource returns them as a map id -> details.
        "identity": {**(i.get("identity") or {}), "userAssignedIdentities": {
            uid: {"principalId": _stable_uuid("principal", uid)}
            for uid in (i.get("identity") or {}).get("userAssignedIdentities") or []}},
        "ipAddress": {**(i.get("ipAddress") or {}), "ip": "20.0.0.4", "fqdn": (
            f"{(i.get('ipAddress') or {}).get('dnsNameLabel', n)}.{i.get('location', 'westeurope')}.azurecontainer.io")},
    }
    o["random:index/randomPassword:RandomPassword"] = lambda n, i, m: {
        "result": m.secret(_fake("password", m.stack, n)),
    }
    o["random:index/randomId:RandomId"] = lambda n, i, m: {
        "hex": hashlib.sha256(f"{m.stack}/{n}".encode()).hexdigest()[: 2 * int(i.get("byteLength", 8))],
    }

    # Batch scoring (components/batch.py).
    o["azure-native:machinelearningservices:Compute"] = lambda n, i, m: {"name": i.get("computeName", n)}
    o["azure-native:machinelearningservices:BatchEndpoint"] = lambda n, i, m: {
        "name": i.get("endpointName", n),
        "properties": {**(i.get("properties") or {}), "scoringUri":
                       f"https://{i.get('endpointName', n)}.{i.get('location', 'westeurope')}.inference.ml.azure.com/jobs"},
    }
    o["azure-native:machinelearningservices:BatchDeployment"] = lambda n, i, m: {"name": i.get("deploymentName", n)}
    # v2 online endpoints (components/online_endpoint.py, components/kubernetes_compute.py).
    o["azure-native:machinelearningservices:OnlineEndpoint"] = lambda n, i, m: {
        "name": i.get("endpointName", n),
        # The input lists identity IDs; the resource returns them as a map id -> details.
        "identity": {**(i.get("identity") or {}), "userAssignedIdentities": {
            uid: {"principalId": _stable_uuid("principal", uid), "clientId": _stable_uuid("client", uid)}
            for uid in (i.get("identity") or {}).get("userAssignedIdentities") or []}},
        "properties": {**(i.get("properties") or {}),
                       "scoringUri": f"https://{i.get('endpointName', n)}.{i.get('location', 'westeurope')}"
                                     ".inference.ml.azure.com/score",
                       "swaggerUri": f"https://{i.get('endpointName', n)}.{i.get('location', 'westeurope')}"
                                     ".inference.ml.azure.com/swagger.json"},
    }
    o["azure-native:machinelearningservices:OnlineDeployment"] = lambda n, i, m: {"name": i.get("deploymentName", n)}
    c["azure-native:machinelearningservices:listOnlineEndpointKeys"] = lambda a, m: {
        "primaryKey": m.secret(_fake("endpoint-key", m.stack, str(a.get("endpointName")), "1")),
        "secondaryKey": m.secret(_fake("endpoint-key", m.stack, str(a.get("endpointName")), "2")),
    }
    c["azure-native:authorization:getClientToken"] = lambda a, m: {"token": m.secret(_fake("arm-token", m.stack))}
    # FPGA (components/fpga.py): an agent pool's name is its agentPoolName.
    o["azure-native:containerservice:AgentPool"] = lambda n, i, m: {"name": i.get("agentPoolName", n)}
    # IoT Edge (components/iot_edge.py): the hub's host name and its shared access keys.
    o["azure-native:iothub:IotHubResource"] = lambda n, i, m: {
        "name": i.get("resourceName", n),
        "properties": {**(i.get("properties") or {}), "hostName": f"{i.get('resourceName', n)}.azure-devices.net"},
    }
    c["azure-native:iothub:getIotHubResource"] = lambda a, m: {
        "name": a.get("resourceName"), "properties": {"hostName": f"{a.get('resourceName')}.azure-devices.net"},
        "id": f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{a.get('resourceGroupName')}/providers/"
              f"Microsoft.Devices/IotHubs/{a.get('resourceName')}",
    }
    c["azure-native:iothub:listIotHubResourceKeysForKeyName"] = lambda a, m: {
        "keyName": a.get("keyName"),
        "rights": "RegistryWrite, ServiceConnect, DeviceConnect" if a.get("keyName") == "iothubowner"
        else "RegistryRead, RegistryWrite",
        "primaryKey": m.secret(base64.b64encode(_fake("iothub", m.stack, a.get("resourceName", ""), a.get("keyName", ""), "1").encode()).decode()),
        "secondaryKey": m.secret(base64.b64encode(_fake("iothub", m.stack, a.get("resourceName", ""), a.get("keyName", ""), "2").encode()).decode()),
    }

    # An existing workspace (workspace.create: false) with its registry, storage and insights,
    # named after the lookup so a stack synthesizes without canned answers (tests pass others).
    def workspace(a, m):
        group, name = a.get("resourceGroupName"), a.get("workspaceName")
        base = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{group}/providers"
        short = "".join(ch for ch in str(name).lower() if ch.isalnum())[:20]
        return {"name": name, "workspaceId": _stable_uuid("workspace", str(group), str(name)),
                "containerRegistry": f"{base}/Microsoft.ContainerRegistry/registries/cr{short}",
                "storageAccount": f"{base}/Microsoft.Storage/storageAccounts/st{short}",
                "applicationInsights": f"{base}/Microsoft.Insights/components/appi-{name}",
                "keyVault": f"{base}/Microsoft.KeyVault/vaults/kv-{short}"[:200]}

    c["azure-native:machinelearningservices:getWorkspace"] = workspace
    c["azure-native:containerregistry:getRegistry"] = lambda a, m: {
        "name": a.get("registryName"), "loginServer": f"{str(a.get('registryName')).lower()}.azurecr.io",
        "sku": {"name": "Standard"}}
    c["azure-native:applicationinsights:getComponent"] = lambda a, m: {
        "name": a.get("resourceName"),
        "instrumentationKey": m.secret(_stable_uuid("ikey", str(a.get("resourceName")))),
        "connectionString": m.secret(f"InstrumentationKey={_stable_uuid('ikey', str(a.get('resourceName')))}")}
    # The deployer's Entra ID access token (components/registry.py exchanges it for ACR push rights).
    c["azure-native:authorization:getClientToken"] = lambda a, m: {
        "token": m.secret(_fake("aad-access-token", m.stack, str(a.get("endpoint") or "arm")))}
    c["azure-native:authorization:getClientConfig"] = lambda a, m: {
        "subscriptionId": SUBSCRIPTION_ID, "tenantId": TENANT_ID,
        "clientId": _stable_uuid("client"), "objectId": _stable_uuid("object"),
    }
    c["azure-native:containerregistry:listRegistryCredentials"] = lambda a, m: {
        "username": a.get("registryName", "registry"),
        "passwords": [
            {"name": "password", "value": m.secret(_fake("acr", m.stack, a.get("registryName", ""), "1"))},
            {"name": "password2", "value": m.secret(_fake("acr", m.stack, a.get("registryName", ""), "2"))},
        ],
    }
    c["azure-native:containerservice:listManagedClusterUserCredentials"] = lambda a, m: {
        "kubeconfigs": [{"name": "clusterUser", "value": m.secret(base64.b64encode(
            _mock_kubeconfig(str(a.get("resourceName", "")), a.get("format"),
                             m.ledger.add(_fake("kubeca", m.stack, str(a.get("resourceName", ""))))).encode()).decode())}],
    }
    _register_aks(m)


def _register_aks(m: SynthMocks) -> None:
    """AKS: a created cluster's computed outputs, an attachable cluster, LoadBalancer status."""
    o, c = m.outputs, m.calls

    def kubelet(cluster: str) -> dict:
        return {"kubeletidentity": {"objectId": _stable_uuid("kubelet", m.stack, cluster),
                                    "clientId": _stable_uuid("kubelet-client", m.stack, cluster)}}

    o["azure-native:containerservice:ManagedCluster"] = lambda n, i, m: {
        "name": i.get("resourceName", n),
        "fqdn": f"{i.get('dnsPrefix', n)}-1a2b3c4d.hcp.{i.get('location', 'westeurope')}.azmk8s.io",
        "currentKubernetesVersion": f"{i.get('kubernetesVersion') or DEFAULT_MIN_KUBERNETES}.6"
        if str(i.get("kubernetesVersion") or DEFAULT_MIN_KUBERNETES).count(".") == 1 else i.get("kubernetesVersion"),
        "identityProfile": kubelet(i.get("resourceName", n)),
    }
    # An existing cluster big and new enough to attach (tests pass other answers via `lookups`).
    c["azure-native:containerservice:getManagedCluster"] = lambda a, m: {
        "id": (f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{a.get('resourceGroupName')}/providers/"
               f"Microsoft.ContainerService/managedClusters/{a.get('resourceName')}"),
        "name": a.get("resourceName"), "location": "westeurope",
        "kubernetesVersion": DEFAULT_MIN_KUBERNETES, "currentKubernetesVersion": f"{DEFAULT_MIN_KUBERNETES}.6",
        "fqdn": f"{a.get('resourceName')}-5e6f7a8b.hcp.westeurope.azmk8s.io",
        "agentPoolProfiles": [{"name": "system", "vmSize": "Standard_D4s_v5", "count": 3, "mode": "System"}],
        "identityProfile": kubelet(str(a.get("resourceName"))),
    }
    c["azure-native:storage:listStorageAccountKeys"] = lambda a, m: {"keys": [
        {"keyName": f"key{k}", "permissions": "FULL",
         "value": m.secret(base64.b64encode(_fake("storagekey", m.stack, a.get("accountName", ""), k).encode()).decode())}
        for k in ("1", "2")]}

    def service_status(n: str, i: dict, m: SynthMocks) -> dict:
        if (i.get("spec") or {}).get("type") != "LoadBalancer":
            return {}
        octet = int(hashlib.sha256(f"{m.stack}/{n}".encode()).hexdigest()[:2], 16)
        internal = "azure-load-balancer-internal" in str((i.get("metadata") or {}).get("annotations"))
        ip = f"10.224.0.{octet}" if internal else f"20.61.{octet}.10"
        return {"status": {"loadBalancer": {"ingress": [{"ip": ip}]}}}

    o["kubernetes:core/v1:Service"] = service_status


AKS_SERVER_APP = "6dae42f8-4368-4678-94ff-3960e28e3630"  # AKS AAD server app (kubelogin docs)
AZURE_CLI_APP = "80faf920-1908-4b52-b5ef-a8e7bedfc67a"   # the client id AKS writes for devicecode


def _mock_kubeconfig(cluster: str, fmt: str | None, ca_data: str = "TU9DSw==") -> str:
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


class RecordingMonitor(MockMonitor):
    """The mock monitor, also keeping each registration's URN, parent, raw inputs and options."""

    def __init__(self, mocks: SynthMocks):
        super().__init__(mocks)
        self._lock = threading.Lock()
        self.registrations: list[Registration] = []
        self._by_urn: dict[str, Registration] = {}
        self.duplicates: list[tuple[Registration, Registration]] = []

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            inputs = deserialize_properties(request.object)
            self._record(Registration(
                urn=response.urn, type=request.type, name=request.name,
                parent=request.parent, custom=bool(request.custom), inputs=inputs,
                dependencies=tuple(sorted(request.dependencies)), options=registered_options(request),
            ))
        return response

    def _record(self, reg: Registration) -> None:
        # The engine refuses a program that registers one URN twice ("Duplicate resource URN");
        # Pulumi's MockMonitor does not check, so the recorder does, keeping both declarations.
        with self._lock:
            first = self._by_urn.setdefault(reg.urn, reg)
            if first is not reg:
                self.duplicates.append((first, reg))
            self.registrations.append(reg)

    def ReadResource(self, request):
        response = super().ReadResource(request)
        state = deserialize_properties(request.properties)
        self._record(Registration(
            urn=response.urn, type=request.type, name=request.name,
            parent=request.parent, custom=True, inputs={"id": request.id, **state},
        ))
        return response
