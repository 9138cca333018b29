"""What kube-proxy does for a Service, on 127.0.0.1: each new connection goes to one of the
pods that are Ready at that moment (round robin; a pod that is not Ready, or terminating, gets
no new connection), bytes copied both ways. Connections already open stay where they are."""
from __future__ import annotations

import itertools
import socket
import threading

from mldeploy.runtime.pod import LocalPod


class ServiceProxy:
    def __init__(self, target_port: int):
        self.target_port = target_port
        self.pods: list[LocalPod] = []
        self._rr = itertools.count()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self.routed: dict[str, int] = {}
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            ready = [p for p in self.pods if p.ready]
            if not ready:
                client.close()  # no endpoints: kube-proxy rejects the connection
                continue
            pod = ready[next(self._rr) % len(ready)]
            self.routed[pod.name] = self.routed.get(pod.name, 0) + 1
            try:
                upstream = socket.create_connection((pod.ip, self.target_port), timeout=10)
            except OSError:
                client.close()
                continue
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(a, b), daemon=True).start()

    def close(self) -> None:
        self._server.close()


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
