"""What Azure keeps of a deployed service's logs, read the way `az` reads them:

- v2 online deployments (managed and Kubernetes endpoints): ARM `POST .../onlineEndpoints/{e}/
  deployments/{d}/getLogs` with `{"containerType": "InferenceServer" | "StorageInitializer",
  "tail": N}`, answering `{"content": "..."}` (Azure/azure-rest-api-specs, specification/
  machinelearningservices/resource-manager/Microsoft.MachineLearningServices/stable/2025-12-01/
  mfe.json, OnlineDeployments_GetLogs; examples/OnlineDeployment/getLogs.json);
- ACI: ARM `GET .../containerGroups/{g}/containers/{c}/logs?tail=N`, answering `{"content": ...}`
  ("If not provided, all available logs are shown up to 4mb"; specification/containerinstance/
  resource-manager/Microsoft.ContainerInstance/stable/2023-05-01/containerInstance.json,
  Containers_ListLogs - the API version azure-native 3.x declares container groups with);
- AKS: the pods' containers through the Kubernetes API (`kubernetes` client: it runs the
  kubeconfig's exec plugin, kubelogin, as kubectl does), selected by the service's labels.

ARM calls go through mldeploy/azure/pipeline.py's ArmClient (azure-core's retries, the
deployer's credential from azure-identity: `az login`, a managed identity or the AZURE_*/ARM_*
variables).
"""
from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import quote

ML_API_VERSION = "2025-12-01"
ACI_API_VERSION = "2023-05-01"
# `mldeploy logs --container` words -> getLogs' containerType (mfe.json, ContainerType).
ENDPOINT_CONTAINERS = {"inference-server": "InferenceServer", "storage-initializer": "StorageInitializer"}
CREDENTIALS_HINT = ("run `az login` (or set AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_CLIENT_SECRET / "
                    "AZURE_FEDERATED_TOKEN_FILE)")


class LogsError(Exception):
    """Logs could not be read: what was asked, and why (no credentials, ARM's answer)."""


_SUBSCRIPTION = re.compile(r"^/subscriptions/([^/]+)/", re.IGNORECASE)


def subscription_of(outputs: dict) -> str:
    """The stack's subscription: from an ARM id among its outputs, else AZURE_SUBSCRIPTION_ID."""
    for model in (outputs.get("models") or {}).values():
        m = _SUBSCRIPTION.match(str((model or {}).get("id", "")))
        if m:
            return m.group(1)
    for name in ("AZURE_SUBSCRIPTION_ID", "ARM_SUBSCRIPTION_ID"):
        if os.environ.get(name):
            return os.environ[name]
    raise LogsError("the stack's subscription is not in its outputs: set AZURE_SUBSCRIPTION_ID")


def need(outputs: dict, key: str) -> str:
    """A stack output the logs' location is read from; LogsError naming it when absent."""
    value = outputs.get(key)
    if not value:
        raise LogsError(f"the stack's outputs lack {key!r}: run `pulumi up` with this mldeploy version")
    return value


class ArmLogs:
    """The two ARM log calls, through `arm` (an ArmClient; default: the deployer's)."""

    def __init__(self, arm: Any = None):
        from mldeploy.azure.pipeline import ArmClient

        self.arm = arm or ArmClient()

    def deployment_logs(self, subscription: str, resource_group: str, workspace: str, endpoint: str,
                        deployment: str, container: str = "inference-server", tail: int | None = None) -> str:
        resource = (f"/subscriptions/{_q(subscription)}/resourceGroups/{_q(resource_group)}/providers/"
                    f"Microsoft.MachineLearningServices/workspaces/{_q(workspace)}/onlineEndpoints/{_q(endpoint)}"
                    f"/deployments/{_q(deployment)}")
        body: dict[str, Any] = {"containerType": ENDPOINT_CONTAINERS[container]}
        if tail is not None:
            body["tail"] = tail
        what = f"the logs of deployment {deployment!r} of endpoint {endpoint!r}"
        return self._content(lambda: self.arm.post(f"{resource}/getLogs", ML_API_VERSION, body), what)

    def container_logs(self, subscription: str, resource_group: str, group: str, container: str,
                       tail: int | None = None) -> str:
        resource = (f"/subscriptions/{_q(subscription)}/resourceGroups/{_q(resource_group)}/providers/"
                    f"Microsoft.ContainerInstance/containerGroups/{_q(group)}/containers/{_q(container)}/logs")
        if tail is not None:
            resource += f"?tail={int(tail)}"
        what = f"the logs of container {container!r} of container group {group!r}"
        return self._content(lambda: self.arm.get(resource, ACI_API_VERSION), what)

    @staticmethod
    def _content(call, what: str) -> str:
        from azure.core.exceptions import AzureError, ClientAuthenticationError, HttpResponseError

        try:
            answer = call()
        except ClientAuthenticationError as err:
            raise LogsError(f"reading {what} needs Azure credentials: {CREDENTIALS_HINT} ({_first_line(err)})") from None
        except HttpResponseError as err:
            raise LogsError(f"reading {what}: ARM answered {err.status_code}: {_arm_message(err)}") from None
        except AzureError as err:  # not reachable, no answer, TLS refused
            raise LogsError(f"reading {what}: ARM is not reachable ({_first_line(err)})") from None
        if not isinstance(answer, dict):
            raise LogsError(f"reading {what}: ARM's answer is not the expected JSON object")
        return answer.get("content") or ""


def pod_logs(kubeconfig: str, namespace: str, selector: str, *, container: str | None = None,
             tail: int | None = None) -> list[tuple[str, str]]:
    """(`<pod>/<container>`, its log) of every container of the pods matching `selector`."""
    import yaml
    from kubernetes import client, config
    from kubernetes.client.exceptions import ApiException
    from kubernetes.config.config_exception import ConfigException

    try:
        api_client = config.new_client_from_config_dict(yaml.safe_load(kubeconfig))
    except (ConfigException, yaml.YAMLError, TypeError, AttributeError) as err:
        raise LogsError(f"the cluster's kubeconfig cannot be used: {_first_line(err)}") from None
    api = client.CoreV1Api(api_client)
    out = []
    try:
        pods = api.list_namespaced_pod(namespace, label_selector=selector).items
        for pod in sorted(pods, key=lambda p: p.metadata.name):
            for c in pod.spec.containers:
                if container not in (None, c.name):
                    continue
                kwargs = {"container": c.name, "timestamps": True}
                if tail is not None:
                    kwargs["tail_lines"] = tail
                out.append((f"{pod.metadata.name}/{c.name}",
                            api.read_namespaced_pod_log(pod.metadata.name, namespace, **kwargs)))
    except ApiException as err:
        raise LogsError(f"the Kubernetes API answered {err.status} for the pods of {selector!r} in namespace "
                        f"{namespace!r}: {err.reason}") from None
    except Exception as err:  # noqa: BLE001 - the exec plugin (kubelogin) or the connection failed
        raise LogsError(f"the cluster's Kubernetes API cannot be reached with the stack's kubeconfig "
                        f"(kubelogin on PATH? {CREDENTIALS_HINT}): {_first_line(err)}") from None
    finally:
        api_client.close()
    return out


def _q(part: str) -> str:
    return quote(str(part), safe="")


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0][:300] if text else type(err).__name__


def _arm_message(err) -> str:
    """ARM's error code and message (its JSON error body), else the first line of the error."""
    try:
        error = err.response.json()["error"]
        return f"{error.get('code')}: {error.get('message')}"
    except (ValueError, KeyError, TypeError, AttributeError):
        return _first_line(err)
