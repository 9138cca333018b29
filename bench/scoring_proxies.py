"""Benchmark (not a test; issue 23's spike, 2026-12-05): the local gateway (nginx, as `serve`
runs it) against HAProxy in front of the SAME scorer, in ONE interleaved run:

    .venv/bin/python bench/scoring_proxies.py [--duration 2] [--rounds 3] [--connections 1,4,16,64]
    .venv/bin/python bench/scoring_proxies.py --stuck      # issue 24 item 1 through each proxy

Needs wrk, nginx and haproxy (Debian: `apt-get install wrk nginx-light haproxy`).

Why: at 4+ connections ~21 % of nginx's CPU is a new scorer connection a request. A scorer
worker takes one connection at a time, so a request that finds every worker busy must wait
somewhere; stock nginx has no request queue (the upstream `queue` directive is NGINX Plus's), so
it waits on a new connection in the scorer's socket (docs/performance.md). HAProxy queues in the
proxy: a server's `maxconn` is the requests in flight to it, the rest wait in HAProxy's queue and
go out on kept connections (`http-reuse always`).

Setups, each in front of one scorer (the diabetes sample, Unix socket, 2 workers = cores):
  gateway          the generated nginx gateway (auth, limits, drain: everything `serve` has)
  haproxy-queue    HAProxy 1 thread, `maxconn <workers>` on the scorer's socket, `http-reuse
                   always`, the same Bearer key checked
  haproxy-noqueue  the same without maxconn: new connections wait in the scorer's socket, as
                   behind nginx - HAProxy's own cost without its queue
  nginx-bare       nginx doing what the HAProxy setups do (the key, /score passed on, upstream
                   keepalive as the gateway's): nginx's cost without the gateway's other work
HAProxy (and nginx-bare) is started for each wrk run and stopped after it: an idle connection
it keeps holds a scorer worker's one slot, and the next setup's run must not meet it. Printed per setup and
connection count: req/s, p50, p99, p99/p50, the proxy's and the scorer's CPU a request (/proc,
user + system) and their ratio, and HAProxy's count of new scorer connections a request
(its `show stat` connect / requests).

`--tcp`: the same against a second scorer on TCP 127.0.0.1 (as in pods, ACI groups and Container
Apps), with `gateway-tcp`, a copy of the generated local conf with its upstream on that address;
`gateway` stays on the first scorer's Unix socket, for the two against each other.

`--syscalls N`: system calls a request of each proxy and of the scorer's workers at N connections
(strace -c): counts, which the machine's load does not move.

`--instructions N`: user-space instructions a request (valgrind --tool=callgrind, N sequential
requests on one kept connection) of each proxy and of the gateway's conf with its per-request
steps taken off one by one: a count, which the machine's load does not move either.

`--stuck`: bench/scoring_faults.py's run() (a `time.sleep(30)`), 2 workers, scoring timeout 1 s:
a client keeps sending run()s stuck for 30 s while 4 clients send 60 quick requests each; the
statuses of both per proxy (the test's assertion: every quick one 200).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT))

from scoring import diabetes_example, tree_cpu_seconds, wrk  # noqa: E402

HAPROXY_CFG = """\
global
    nbthread 1
    stats socket {stats} mode 600
defaults
    mode http
    timeout connect 5s
    timeout client 75s
    timeout http-keep-alive 75s
    timeout server {timeout_ms}ms
    timeout queue {timeout_ms}ms
    http-reuse always
frontend fe
    bind 127.0.0.1:{port}
    http-request deny deny_status 401 unless {{ req.hdr(authorization) -m str "Bearer {key}" }}
    default_backend scorer
backend scorer
    retry-on conn-failure
    server s1 {sock}{cap}
"""


NGINX_CFG = """\
worker_processes 1;
daemon off;
error_log {work}/{name}.err warn;
pid {work}/{name}.pid;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {work}/{name}-tmp;
    proxy_temp_path {work}/{name}-tmp;
    upstream scorer {{
        server {upstream};
        keepalive 32;
        keepalive_timeout 10ms;
    }}
    server {{
        listen 127.0.0.1:{port};
        location = /score {{
            if ($http_authorization != "Bearer {key}") {{ return 401; }}
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://scorer;
        }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class HAProxy:
    def __init__(self, work: Path, name: str, sock: str, key: str, maxconn: int | None, timeout_ms: int):
        self.port = free_port()
        self.stats = work / f"{name}.stats"
        self.cfg = work / f"{name}.cfg"
        self.cfg.write_text(HAPROXY_CFG.format(stats=self.stats, timeout_ms=timeout_ms, port=self.port, key=key,
                                               sock=sock, cap=f" maxconn {maxconn}" if maxconn else ""))
        self.log = work / f"{name}.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/score"

    def command(self) -> list[str]:
        subprocess.run(["haproxy", "-c", "-q", "-f", str(self.cfg)], check=True)
        return ["haproxy", "-db", "-f", str(self.cfg)]

    def start(self) -> None:
        self.proc = subprocess.Popen(self.command(), stdout=open(self.log, "ab"), stderr=subprocess.STDOUT)
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.02)
        raise SystemExit(f"haproxy did not start: {self.log.read_text()}")

    def server_stats(self) -> dict:
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(self.stats))
            s.sendall(b"show stat\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        lines = data.decode().splitlines()
        head = lines[0].lstrip("# ").split(",")
        for line in lines[1:]:
            row = dict(zip(head, line.split(",")))
            if row.get("svname") == "s1":
                return row
        return {}

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)
            self.proc = None


class BareNginx(HAProxy):
    """nginx doing what the HAProxy setups do (the key checked, /score passed on, kept scorer
    connections as the gateway keeps them): nginx's own cost without the gateway's other work."""

    def __init__(self, work: Path, name: str, sock: str, key: str, timeout_ms: int):
        self.port = free_port()
        self.cfg = work / f"{name}.conf"
        (work / f"{name}-tmp").mkdir(exist_ok=True)
        upstream = sock if sock[0].isdigit() else f"unix:{sock}"
        self.cfg.write_text(NGINX_CFG.format(work=work, name=name, upstream=upstream, port=self.port, key=key))
        self.log = work / f"{name}.log"
        self.proc = None

    def command(self) -> list[str]:
        return ["nginx", "-p", str(self.cfg.parent), "-c", str(self.cfg), "-e", "stderr", "-g", "user root root;"]

    def server_stats(self) -> dict:
        return {}

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGQUIT)
            self.proc.wait(timeout=30)
            self.proc = None


class GatewayCopy(BareNginx):
    """The generated gateway conf (`text`) run as a second nginx beside the served one: its own
    port, hop socket and pid file; with `scorer`, its upstream that address instead (TCP)."""

    def __init__(self, folder: Path, text: str, scorer: str | None = None):
        (folder / "tmp").mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        text = re.sub(r"listen 127\.0\.0\.1:\d+ default_server;", f"listen 127.0.0.1:{self.port} default_server;", text)
        text = re.sub(r"(listen|server) unix:\S+gateway\.sock;", rf"\1 unix:{folder}/hop.sock;", text)
        text = re.sub(r"^pid .*;$", f"pid {folder}/nginx.pid;", text, flags=re.M)
        if scorer:
            text = re.sub(r"server unix:\S+scorer\.sock weight=1;", f"server {scorer} weight=1;", text)
        self.cfg = folder / "nginx.conf"
        self.cfg.write_text(text)
        self.log = folder / "nginx.log"
        self.proc = None


def setup(script: str | None, workers: int, timeout_ms: int | None, tcp: bool = False):
    from mldeploy.config.stack import ImageSettings
    from mldeploy.plan.serve import plan_serve
    from mldeploy.render.build_context import render_build_context
    from mldeploy.runtime.env import ensure_env
    from mldeploy.runtime.local import LocalServer
    from mldeploy.targets.local.settings import LocalServiceSettings

    work = Path(tempfile.mkdtemp(prefix="mldeploy-bench-proxies-"))
    if script:  # a project of its own, with the diabetes environment file (its environment is cached)
        root = work / "project"
        (root / "proxies").mkdir(parents=True)
        (root / "proxies/score.py").write_text(script)
        (root / "examples/diabetes").mkdir(parents=True)
        shutil.copy(ROOT / "examples/diabetes/myenv.yml", root / "examples/diabetes/myenv.yml")
        image = ImageSettings.model_validate({"entryScript": "proxies/score.py", "condaFile": "examples/diabetes/myenv.yml",
                                             "models": ["none"], "scoringServer": "mldeploy"}, context={"root": root})
        context = render_build_context("proxies", image, [], root)
        env = ensure_env("conda", (ROOT / "examples/diabetes/myenv.yml").read_text(),
                         progress=lambda m: print(m, file=sys.stderr), scoring_server="mldeploy")
    else:
        context, env = diabetes_example("proxies")
    service = LocalServiceSettings.model_validate({"target": "local", "image": "proxies", "workerCount": workers,
                                                   **({"scoringTimeoutMs": timeout_ms} if timeout_ms else {})})
    server = LocalServer(plan_serve("proxies", service, production=False), context, env, work / "served", port=0)
    endpoint = server.start()
    sock = str(server._socket_dir / "scorer.sock")
    if tcp:  # a scorer of its own on TCP 127.0.0.1, as the gateway reaches it in pods, ACI groups, Container Apps
        from mldeploy.runtime.local import scorer_child
        from mldeploy.runtime.processes import listen_socket, wait_until_ok

        listener = listen_socket(0)
        port = listener.getsockname()[1]
        context.write(work / "tcp-context")
        child = scorer_child(context, env, work / "tcp-context", work, sock=listener, workers=workers,
                             scoring_timeout_ms=service.scoring_timeout_ms, name="tcp-scorer")
        child.start()
        wait_until_ok(child, f"http://127.0.0.1:{port}/", "the TCP scorer", 120)
        server.tcp_scorer = child
        sock = f"127.0.0.1:{port}"
    return work, server, endpoint, sock, service


def throughput(args) -> None:
    conns = [int(c) for c in args.connections.split(",")]
    load = os.getloadavg()
    work, server, endpoint, sock, service = setup(None, args.workers, None, tcp=args.tcp)
    timeout_ms = 60_000
    proxies = {"haproxy-queue": HAProxy(work, "queue", sock, endpoint.primaryKey, args.workers, timeout_ms),
               "haproxy-noqueue": HAProxy(work, "noqueue", sock, endpoint.primaryKey, None, timeout_ms),
               "nginx-bare": BareNginx(work, "bare", sock, endpoint.primaryKey, timeout_ms)}
    if args.tcp:  # the generated conf with its upstream on the TCP scorer, as the containers' gateway reaches it
        conf = next(Path(work / "served").rglob("nginx.conf")).read_text()
        proxies = {"gateway-tcp": GatewayCopy(work / "gateway-tcp", conf, scorer=sock), **proxies}
    names = ["gateway", *proxies]
    runs: dict[str, dict[int, list[dict]]] = {n: {c: [] for c in conns} for n in names}
    try:
        for round_no in range(args.rounds):
            order = names if round_no % 2 == 0 else names[::-1]
            for c in conns:
                for name in order:
                    proxy = proxies.get(name)
                    if proxy:
                        proxy.start()
                        pid, url = proxy.proc.pid, proxy.url
                    else:
                        pid, url = server.gateway.proc.pid, endpoint.scoringUri
                    scorer = server.tcp_scorer if args.tcp and name != "gateway" else server.scorer
                    before = (tree_cpu_seconds(pid), tree_cpu_seconds(scorer.proc.pid))
                    result = wrk(url, c, args.duration, endpoint.primaryKey, work)
                    after = (tree_cpu_seconds(pid), tree_cpu_seconds(scorer.proc.pid))
                    requests = result["rps"] * args.duration
                    result["proxy"] = (after[0] - before[0]) / requests * 1e6
                    result["scorer"] = (after[1] - before[1]) / requests * 1e6
                    if proxy:
                        stats = proxy.server_stats()
                        if stats:
                            result["connects"] = int(stats.get("connect") or 0) / max(int(stats.get("stot") or 1), 1)
                        proxy.stop()
                    runs[name][c].append(result)
                    time.sleep(0.1)
    finally:
        for proxy in proxies.values():
            proxy.stop()
        if args.tcp:
            server.tcp_scorer.stop()
        server.stop()
        shutil.rmtree(work, ignore_errors=True)

    def med(name, c, key):
        values = [key(r) for r in runs[name][c] if key(r) is not None]
        return statistics.median(values) if values else float("nan")

    print(f"\nload average before the run: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, after: "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    print(f"one scorer ({args.workers} workers, {'TCP 127.0.0.1; gateway: a second one on its Unix socket' if args.tcp else 'Unix socket'}), {args.rounds} interleaved rounds x {args.duration}s, medians")
    print(f"{'proxy':16} {'conns':>5} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'p99/p50':>7} "
          f"{'proxy us':>8} {'scorer us':>9} {'proxy/scorer':>12} {'new conn/req':>12}")
    for name in names:
        for c in conns:
            print(f"{name:16} {c:5d} {med(name, c, lambda r: r['rps']):7.0f} {med(name, c, lambda r: r['p50']):7.2f} "
                  f"{med(name, c, lambda r: r['p99']):7.2f} {med(name, c, lambda r: r['p99'] / r['p50']):7.1f} "
                  f"{med(name, c, lambda r: r['proxy']):8.0f} {med(name, c, lambda r: r['scorer']):9.0f} "
                  f"{med(name, c, lambda r: r['proxy'] / r['scorer']):12.1%} {med(name, c, lambda r: r.get('connects')):12.2f}")
    print(json.dumps({"load": load, "runs": runs}), file=sys.stderr)


def stuck(args) -> None:
    import requests

    from scoring_faults import SCRIPT as FAULT_SCRIPT  # its run(): {"stuck": "sleep"} blocks for 30 s

    load = os.getloadavg()
    work, server, endpoint, sock, service = setup(FAULT_SCRIPT, 2, 1000)
    timeout_ms = service.scoring_timeout_ms  # the scorer retires a stuck worker just before the gateway's timeout
    queue = HAProxy(work, "queue", sock, endpoint.primaryKey, 2, timeout_ms)
    targets = {"gateway": endpoint.scoringUri, "haproxy-queue": queue.url}
    try:
        queue.start()
        for name, url in targets.items():
            stuck_statuses: list[int] = []
            statuses: list[tuple[int, float]] = []
            stop = threading.Event()
            headers = {"Authorization": f"Bearer {endpoint.primaryKey}"}

            def stuck_client():
                while not stop.is_set():
                    stuck_statuses.append(requests.post(url, json={"stuck": "sleep"}, headers=headers, timeout=60).status_code)

            def normal_client():
                with requests.Session() as session:
                    for _ in range(60):
                        start = time.monotonic()
                        status = session.post(url, json={"sleep": 0.02}, headers=headers, timeout=60).status_code
                        statuses.append((status, time.monotonic() - start))

            threads = [threading.Thread(target=normal_client) for _ in range(4)]
            st = threading.Thread(target=stuck_client)
            st.start()
            time.sleep(0.2)
            for t in threads:
                t.start()
            for t in threads:
                t.join(300)
            stop.set()
            st.join(60)
            times = sorted(s for _, s in statuses)
            bad = [s for s, _ in statuses if s != 200]
            print(f"{name:14} quick: {len(statuses)} sent, not 200: {bad}, p50 {times[len(times) // 2] * 1e3:.0f} ms, "
                  f"max {times[-1] * 1e3:.0f} ms; stuck: {stuck_statuses}")
    finally:
        queue.stop()
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"load average before: {load[0]:.2f}, after: {os.getloadavg()[0]:.2f}")


def strace_counts(pids: list[int], work: Path, name: str) -> tuple[subprocess.Popen, Path]:
    out = work / f"{name}.strace"
    argv = ["strace", "-c", "-f", "-o", str(out), *[a for pid in pids for a in ("-p", str(pid))]]
    return subprocess.Popen(argv, stderr=subprocess.DEVNULL), out


def parse_strace(path: Path) -> dict[str, int]:
    calls = {}
    for line in path.read_text().splitlines():
        fields = line.split()
        if len(fields) >= 5 and fields[-1] not in ("total", "syscall") and fields[3].isdigit():
            calls[fields[-1]] = int(fields[3])
    return calls


def children(pid: int) -> list[int]:
    out = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if proc.joinpath("stat").read_text().rsplit(")", 1)[1].split()[1] == str(pid):
                out.append(int(proc.name))
        except OSError:
            continue
    return out


def syscalls(args) -> None:
    """System calls a request of the proxy and of the scorer's workers (strace -c, 4 connections):
    counts, not times - they do not move with the machine's load."""
    load = os.getloadavg()
    work, server, endpoint, sock, service = setup(None, args.workers, None)
    proxies = {"haproxy-queue": HAProxy(work, "queue", sock, endpoint.primaryKey, args.workers, 60_000),
               "nginx-bare": BareNginx(work, "bare", sock, endpoint.primaryKey, 60_000)}
    workers = children(server.scorer.proc.pid)
    try:
        for name in ["gateway", *proxies]:
            proxy = proxies.get(name)
            if proxy:
                proxy.start()
            pid, url = (proxy.proc.pid, proxy.url) if proxy else (server.gateway.proc.pid, endpoint.scoringUri)
            pids = children(pid) or [pid]  # nginx's workers (not its master); HAProxy is one process
            tracers = [strace_counts(pids, work, f"{name}-proxy"), strace_counts(workers, work, f"{name}-scorer")]
            time.sleep(1.0)  # strace attached
            result = wrk(url, args.connections_one, args.duration, endpoint.primaryKey, work)
            for tracer, _ in tracers:
                tracer.send_signal(signal.SIGINT)
                tracer.wait(timeout=30)
            if proxy:
                proxy.stop()
            requests = result["rps"] * args.duration
            proxy_calls, scorer_calls = (parse_strace(out) for _, out in tracers)
            def per(calls, names=None):
                return sum(v for k, v in calls.items() if names is None or k in names) / requests
            print(f"{name:16} {requests:6.0f} requests; a request: proxy {per(proxy_calls):5.1f} calls "
                  f"(connect {per(proxy_calls, {'connect'}):4.2f}, socket {per(proxy_calls, {'socket'}):4.2f}, "
                  f"close {per(proxy_calls, {'close'}):4.2f}), scorer {per(scorer_calls):5.1f} "
                  f"(accept4 {per(scorer_calls, {'accept4'}):4.2f}, shutdown {per(scorer_calls, {'shutdown'}):4.2f})")
            print("   proxy's: " + ", ".join(f"{k} {v / requests:.2f}" for k, v in sorted(proxy_calls.items(), key=lambda kv: -kv[1])[:8]))
    finally:
        for proxy in proxies.values():
            proxy.stop()
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"load average before: {load[0]:.2f}, after: {os.getloadavg()[0]:.2f}")


def gateway_variants(conf: str) -> dict[str, str]:
    """The generated gateway conf, then with one more of its per-request steps taken off each time
    (for measuring only: each is a behaviour the gateway needs)."""
    no_rewrite = conf.replace("      if ($mldeploy_scorer_path) { rewrite ^ $mldeploy_scorer_path last; }\n",
                              "      proxy_intercept_errors on;\n      error_page 431 @e431;\n")
    no_drain = re.sub(r"    open_file_cache .*\n    if \(-f .*\n", "", no_rewrite)
    no_log = re.sub(r"  access_log /dev/stderr mldeploy_answer if=\$mldeploy_error_answer;\n", "  access_log off;\n", no_drain)
    return {"gateway": conf, "- internal rewrite": no_rewrite, "- drain check": no_drain, "- error-answer log": no_log}


def instructions(args) -> None:
    """User-space instructions a request of each proxy (valgrind's callgrind: a count the machine's
    load does not move), one kept connection, `args.instructions` sequential requests after 50."""
    import glob
    import http.client

    work, server, endpoint, sock, service = setup(None, args.workers, None)
    key, body = endpoint.primaryKey, (ROOT / "examples/diabetes/sample-request.json").read_bytes()
    conf = next(Path(work / "served").rglob("nginx.conf")).read_text()
    commands: dict[str, tuple[list[str], int]] = {}
    for n, (name, text) in enumerate(gateway_variants(conf).items()):
        copy = GatewayCopy(work / f"variant-{n}", text)
        commands[name] = ([*copy.command()[:-2], "-g", "master_process off; user root root;"], copy.port)
    for name, proxy in {"nginx-bare": BareNginx(work, "bare", sock, key, 60_000),
                        "haproxy-queue": HAProxy(work, "queue", sock, key, args.workers, 60_000),
                        "haproxy-noqueue": HAProxy(work, "noqueue", sock, key, None, 60_000)}.items():
        argv = proxy.command()
        commands[name] = ([*argv[:-2], "-g", "master_process off; user root root;"] if name == "nginx-bare" else argv,
                          proxy.port)

    def post(conn) -> None:
        conn.request("POST", "/score", body=body, headers={"Content-Type": "application/json",
                                                           "Authorization": f"Bearer {key}"})
        answer = conn.getresponse()
        answer.read()
        if answer.status != 200:
            raise SystemExit(f"{answer.status} from a proxy")

    counts = {}
    try:
        for name, (argv, port) in commands.items():
            out = work / f"callgrind-{len(counts)}"
            proc = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}.%p", *argv],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(1200):
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                    conn.connect()
                    break
                except OSError:
                    time.sleep(0.05)
            for _ in range(50):
                post(conn)
            subprocess.run(["callgrind_control", "-z", str(proc.pid)], capture_output=True, check=True)
            for _ in range(args.instructions):
                post(conn)
            subprocess.run(["callgrind_control", "-d", str(proc.pid)], capture_output=True, check=True)
            conn.close()
            proc.send_signal(signal.SIGQUIT if argv[0] == "nginx" else signal.SIGTERM)
            proc.wait(timeout=60)
            dumps = [f for f in glob.glob(f"{out}.*") if re.search(r"\.\d+\.\d+$", f)]  # -d's dump: <file>.<pid>.<n>
            text = Path(sorted(dumps)[0]).read_text(errors="replace")
            counts[name] = int(re.search(r"^(?:summary|totals): (\d+)", text, re.M).group(1)) / args.instructions
            print(f"{name:20} {counts[name]:8.0f} instructions a request", flush=True)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"user space, callgrind; {args.instructions} requests on one kept connection after 50; the gateway's "
          "variants each take one more step off the one above")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", default="1,4,16,64")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--stuck", action="store_true")
    parser.add_argument("--tcp", action="store_true", help="the scorer on TCP 127.0.0.1 (pods, ACI groups)")
    parser.add_argument("--instructions", type=int, default=None, metavar="REQUESTS",
                        help="instead: user-space instructions a request (valgrind --tool=callgrind)")
    parser.add_argument("--syscalls", type=int, default=None, dest="connections_one", metavar="CONNS",
                        help="instead: system calls a request at CONNS connections (strace -c)")
    args = parser.parse_args()
    for tool in ("wrk", "haproxy"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed: apt-get install {tool}")
    if args.stuck:
        return stuck(args)
    if args.instructions:
        if shutil.which("valgrind") is None:
            raise SystemExit("valgrind is not installed: apt-get install valgrind")
        return instructions(args)
    return syscalls(args) if args.connections_one else throughput(args)


if __name__ == "__main__":
    main()
