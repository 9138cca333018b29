"""The calls that read a deployed service's logs, against fakes on 127.0.0.1: ARM (getLogs of an
online deployment, an ACI container's logs) - the fake ARM of tests/azure/fake_arm.py, through
the ArmClient of mldeploy/azure/pipeline.py - and the Kubernetes API (pods by label, each
container's log) served by a local HTTP server to the real `kubernetes` client."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from azure.core.exceptions import ClientAuthenticationError

from mldeploy.azure.logs import ACI_API_VERSION, ML_API_VERSION, ArmLogs, LogsError, pod_logs
from mldeploy.azure.pipeline import ArmClient
from tests.azure.fake_arm import Answer, FakeArm, FakeCredential, RecordingTransport


class NoCredential:
    def get_token(self, *scopes, **kwargs):
        raise ClientAuthenticationError("DefaultAzureCredential failed to retrieve a token")


@pytest.fixture
def arm(tmp_path):
    fake = FakeArm(tmp_path)
    yield fake
    fake.close()


def arm_logs(arm: FakeArm, credential=None) -> ArmLogs:
    return ArmLogs(ArmClient(credential or FakeCredential(), base_url=arm.url, transport=RecordingTransport(arm.ca)))


@pytest.fixture()
def fake_server():
    """A local HTTP server; `routes[(method, path)] = (status, body)`; `seen` records requests."""
    routes, seen = {}, []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self):
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            seen.append({"method": self.command, "path": url.path, "query": parse_qs(url.query),
                         "auth": self.headers.get("Authorization"), "body": json.loads(body) if body else None})
            status, payload = routes.get((self.command, url.path), (404, {"error": {"code": "NotFound",
                                                                                   "message": "no such thing"}}))
            data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain" if isinstance(payload, str) else "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _answer

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", routes, seen
    server.shutdown()
    server.server_close()


DEPLOYMENT_LOGS = ("/subscriptions/sub-1/resourceGroups/rg-1/providers/Microsoft.MachineLearningServices/"
                   "workspaces/mlw-1/onlineEndpoints/diabetes-abc/deployments/blue/getLogs")
ACI_LOGS = ("/subscriptions/sub-1/resourceGroups/rg-1/providers/Microsoft.ContainerInstance/containerGroups/"
            "aci-diabetes-group1a2b/containers/scorer/logs")


def test_online_deployment_logs_through_get_logs(arm):
    arm.answer("POST", DEPLOYMENT_LOGS, Answer(200, {"content": "line 1\nTraceback: KeyError\n"}))
    credential = FakeCredential()
    text = arm_logs(arm, credential).deployment_logs("sub-1", "rg-1", "mlw-1", "diabetes-abc", "blue", tail=50)
    assert text == "line 1\nTraceback: KeyError\n"
    request = arm.calls("POST", DEPLOYMENT_LOGS)[-1]
    assert parse_qs(request.query) == {"api-version": [ML_API_VERSION]}
    assert request.body == {"containerType": "InferenceServer", "tail": 50}
    assert request.headers["Authorization"] == "Bearer fake-arm-token"
    assert credential.scopes, "the token comes from the credential"


def test_storage_initializer_logs(arm):
    arm.answer("POST", DEPLOYMENT_LOGS, Answer(200, {"content": "model download failed"}))
    assert arm_logs(arm).deployment_logs("sub-1", "rg-1", "mlw-1", "diabetes-abc", "blue",
                                         "storage-initializer") == "model download failed"
    assert arm.calls("POST", DEPLOYMENT_LOGS)[-1].body == {"containerType": "StorageInitializer"}


def test_aci_container_logs(arm):
    arm.answer("GET", ACI_LOGS, Answer(200, {"content": "scorer says hi\n"}))
    assert arm_logs(arm).container_logs("sub-1", "rg-1", "aci-diabetes-group1a2b", "scorer", 20) == "scorer says hi\n"
    assert parse_qs(arm.calls("GET", ACI_LOGS)[-1].query) == {"api-version": [ACI_API_VERSION], "tail": ["20"]}


def test_a_throttled_logs_call_is_retried(arm):
    arm.answer("GET", ACI_LOGS, Answer(429, {"error": {"code": "TooManyRequests"}}, {"Retry-After": "3"}),
               Answer(200, {"content": "ok"}))
    assert arm_logs(arm).container_logs("sub-1", "rg-1", "aci-diabetes-group1a2b", "scorer") == "ok"


def test_arm_errors_name_what_and_why(arm):
    with pytest.raises(LogsError, match=r"deployment 'blue' of endpoint 'gone'.*ARM answered 404: ResourceNotFound"):
        arm_logs(arm).deployment_logs("sub-1", "rg-1", "mlw-1", "gone", "blue")


def test_missing_credentials_say_how_to_log_in(arm):
    with pytest.raises(LogsError, match=r"needs Azure credentials: run `az login`"):
        arm_logs(arm, NoCredential()).container_logs("sub-1", "rg-1", "g", "scorer")


# -- Kubernetes -----------------------------------------------------------------------------------

def _pod(name, containers):
    return {"metadata": {"name": name, "namespace": "diabetes"},
            "spec": {"containers": [{"name": c, "image": "x"} for c in containers]}}


def _kubeconfig(url: str) -> str:
    return json.dumps({"apiVersion": "v1", "kind": "Config", "current-context": "c",
                       "clusters": [{"name": "k", "cluster": {"server": url}}],
                       "users": [{"name": "u", "user": {"token": "kube-token"}}],
                       "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}]})


def test_pod_logs_of_every_container_of_the_service(fake_server):
    url, routes, seen = fake_server
    routes[("GET", "/api/v1/namespaces/diabetes/pods")] = (200, {
        "kind": "PodList", "apiVersion": "v1", "metadata": {},
        "items": [_pod("diabetes-7f-b", ["scorer", "gateway"]), _pod("diabetes-7f-a", ["scorer", "gateway"])]})
    for pod in ("diabetes-7f-a", "diabetes-7f-b"):
        routes[("GET", f"/api/v1/namespaces/diabetes/pods/{pod}/log")] = (200, f"2026-12-04T11:00:00Z log of {pod}\n")
    logs = pod_logs(_kubeconfig(url), "diabetes", "mldeploy.io/service=diabetes", tail=30)
    assert [name for name, _ in logs] == ["diabetes-7f-a/scorer", "diabetes-7f-a/gateway",
                                          "diabetes-7f-b/scorer", "diabetes-7f-b/gateway"]
    assert logs[0][1] == "2026-12-04T11:00:00Z log of diabetes-7f-a\n"
    listing = next(r for r in seen if r["path"].endswith("/pods"))
    assert listing["query"]["labelSelector"] == ["mldeploy.io/service=diabetes"]
    log_call = next(r for r in seen if r["path"].endswith("/log"))
    assert log_call["query"]["tailLines"] == ["30"] and log_call["query"]["timestamps"][0].lower() == "true"
    assert log_call["auth"] == "Bearer kube-token"


def test_pod_logs_of_one_container(fake_server):
    url, routes, _ = fake_server
    routes[("GET", "/api/v1/namespaces/diabetes/pods")] = (200, {"kind": "PodList", "apiVersion": "v1", "metadata": {},
                                                                "items": [_pod("p", ["scorer", "gateway"])]})
    routes[("GET", "/api/v1/namespaces/diabetes/pods/p/log")] = (200, "x\n")
    assert [n for n, _ in pod_logs(_kubeconfig(url), "diabetes", "s=d", container="gateway")] == ["p/gateway"]


def test_kubernetes_errors_name_the_pods_asked_for(fake_server):
    url, routes, _ = fake_server
    routes[("GET", "/api/v1/namespaces/diabetes/pods")] = (403, {"kind": "Status", "message": "forbidden"})
    with pytest.raises(LogsError, match=r"answered 403 for the pods of 'mldeploy.io/service=diabetes'"):
        pod_logs(_kubeconfig(url), "diabetes", "mldeploy.io/service=diabetes")


def test_a_kubeconfig_that_is_not_one():
    with pytest.raises(LogsError, match="kubeconfig cannot be used"):
        pod_logs("not: [a kubeconfig", "ns", "a=b")
