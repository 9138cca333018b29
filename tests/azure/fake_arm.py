"""A fake Azure Resource Manager on 127.0.0.1 (HTTPS, a throwaway certificate) that answers from a
script: the 429s, 503s, slow long-running operations and dropped connections a real `pulumi up`
meets, so the clients of mldeploy/azure/pipeline.py are tested on the wire, not through a mock."""
from __future__ import annotations

import json
import ssl
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from azure.core.credentials import AccessToken
from azure.core.pipeline.transport import RequestsTransport

from tests.runtime.test_tls_e2e import self_signed

DROP = "drop"  # close the connection without an answer


@dataclass
class Answer:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Seen:
    method: str
    path: str  # without the query
    query: str
    headers: dict[str, str]
    body: Any


def _body(headers, raw: bytes) -> Any:
    if not raw:
        return None
    if headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
        return dict(urllib.parse.parse_qsl(raw.decode()))
    return json.loads(raw)


class FakeArm:
    """`answer(method, path, *answers)`: the answers to that call in order (the last one repeats).
    Unscripted calls get 404. `seen` lists every request that arrived."""

    def __init__(self, tmp_path: Path):
        cert_pem, key_pem = self_signed()
        self.ca = tmp_path / "fake-arm-ca.pem"
        self.ca.write_text(cert_pem)
        key = tmp_path / "fake-arm-key.pem"
        key.write_text(key_pem)
        self.script: dict[tuple[str, str], list] = {}
        self.seen: list[Seen] = []
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _answer(self):
                path, _, query = self.path.partition("?")
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                with fake.lock:
                    fake.seen.append(Seen(self.command, path, query, dict(self.headers), _body(self.headers, raw)))
                    queue = fake.script.get((self.command, path))
                    answer = (queue.pop(0) if len(queue) > 1 else queue[0]) if queue else Answer(
                        404, {"error": {"code": "ResourceNotFound", "message": f"{path} not found"}})
                if answer == DROP:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                data = json.dumps(answer.body).encode() if answer.body is not None else b""
                self.send_response(answer.status)
                for k, v in {"Content-Type": "application/json", **answer.headers}.items():
                    self.send_header(k, v.replace("{base}", fake.url))
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.ca, key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def answer(self, method: str, path: str, *answers) -> None:
        self.script[(method, path)] = list(answers)

    def calls(self, method: str, path: str) -> list[Seen]:
        return [s for s in self.seen if (s.method, s.path) == (method, path)]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class RecordingTransport(RequestsTransport):
    """The real requests transport, trusting the fake's certificate; waits are recorded, not slept
    (the value is what a test checks: no timed assertion)."""

    def __init__(self, ca: Path):
        super().__init__(connection_verify=str(ca))
        self.slept: list[float] = []

    def sleep(self, duration):
        self.slept.append(float(duration))


class FakeCredential:
    """A TokenCredential that hands out one token and counts the scopes asked for."""

    def __init__(self, token: str = "fake-arm-token"):
        self.token = token
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes, **kwargs):
        self.scopes.append(scopes)
        return AccessToken(self.token, 4102444800)  # 2100-01-01
