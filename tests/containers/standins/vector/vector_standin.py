#!/usr/bin/python3
"""Stand-in for Vector as the model-data collector (see ../README.md).

Reads the rendered config (`--config FILE`), binds exactly the `http_server` source's `address`
(so a config that binds loopback is unreachable from the pod IP, as with Vector), answers POSTs
on the source's `path`, and appends each record as a JSON line to
$MLDEPLOY_BLOB_DIR/<sink container_name>/<blob_prefix with variant/collection/date>records.jsonl
- the stand-in for the `azure_blob` sink. SIGTERM: stop accepting, flush, exit 0 (as Vector).
"""
import datetime
import http.server
import json
import os
import signal
import sys
import threading

import yaml


def load(argv):
    path = argv[argv.index("--config") + 1] if "--config" in argv else "/etc/vector/vector.yaml"
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def main(argv):
    conf = load(argv)
    source = next(s for s in conf["sources"].values() if s["type"] == "http_server")
    sink = next(s for s in conf["sinks"].values() if s["type"] == "azure_blob")
    host, _, port = source["address"].rpartition(":")
    blob_root = os.path.join(os.environ.get("MLDEPLOY_BLOB_DIR", "/var/lib/mldeploy-blob"), sink["container_name"])
    variant = os.environ.get("MDC_VARIANT", "stable")
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            if source.get("strict_path", True) and self.path.split("?")[0] != source.get("path", "/"):
                self.send_response(404)
                self.end_headers()
                return
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            collection = (self.headers.get("ce-type") or "azureml.inference.unknown").replace("azureml.inference.", "")
            try:
                data = json.loads(body)
            except ValueError:
                data = body.decode(errors="replace")
            record = {"collection": collection, "variant": variant, "data": data,
                      **{h: self.headers.get(h) for h in source.get("headers", []) if self.headers.get(h)}}
            now = datetime.datetime.now(datetime.timezone.utc)
            prefix = (sink["blob_prefix"].replace("{{ variant }}", variant)
                      .replace("{{ collection }}", collection))
            folder = os.path.join(blob_root, now.strftime(prefix))
            with lock:
                os.makedirs(folder, exist_ok=True)
                with open(os.path.join(folder, "records.jsonl"), "a", encoding="utf-8") as f:
                    f.write(json.dumps(record) + "\n")
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer((host, int(port)), Handler)
    server.daemon_threads = False  # in-flight records finish before exit
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"stand-in collector listening on {host}:{port}, sink {blob_root}", flush=True)
    server.serve_forever()
    server.server_close()
    print("stand-in collector stopped", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
