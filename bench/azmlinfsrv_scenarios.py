"""azmlinfsrv's own scenario tests (microsoft/azureml-inference-server, tests/azmlinfsrv/scenarios at
the 1.5.1 release) against azmlinfsrv and against mldeploy's scorer host (issue 24). It needs a
checkout of that repository, which this one does not copy; the test suite runs one scenario with it
only where that checkout is at hand (tests/bench/test_bench_smoke.py; skipped without one).

    .venv/bin/python bench/azmlinfsrv_scenarios.py [--repo PATH] [--ref 1.5.1-COMMIT]
        [--servers azmlinfsrv,mldeploy,mldeploy-wsgi,mldeploy-gunicorn] [-k EXPR]

`--repo` is a clone (or bare git directory) of microsoft/azureml-inference-server (default:
$MLDEPLOY_AZMLINFSRV_REPO, else /work/.mirror/microsoft+azureml-inference-server/repo). The
tests are taken from `--ref` with `git archive` into a temporary folder; nothing is written to
either repository. What the runner changes, and why:
- upstream's autouse `free_port` fixture SIGTERMs every process listening on port 5001 on the
  machine (another project's server included): a conftest.py next to the scenarios overrides it
  with one that only checks the port is free;
- the tests run `azmlinfsrv` from PATH: for each server a one-line `azmlinfsrv` script is put
  first on PATH:
    azmlinfsrv         upstream's own command (gunicorn), unchanged
    mldeploy           mldeploy/scoring/scorer_host.py with scoringServer mldeploy (granian, ASGI
                       interface through wsgi_on_asgi.py: the default host)
    mldeploy-wsgi      the same with MLDEPLOY_GRANIAN_INTERFACE=wsgi
    mldeploy-gunicorn  scorer_host.py with scoringServer azmlinfsrv (gunicorn, mldeploy's fixes)
The tests run in a virtualenv of their own (default ~/.cache/mldeploy/azmlinfsrv-scenarios):
one of them uninstalls flask-cors (`test_cors_enabled_without_package`), so the runner
reinstalls it before every server's run. Ports 5001, 5000, 8347, 8346 and 5002 must be free.

Known, deliberate: `test_seperate_health_port` and `test_set_custom_health_port_cli` fail on the
mldeploy host (a separate health port is refused at start; docs/scoring.md).
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mldeploy.scoring.scorer_host import TESTED_VERSIONS  # noqa: E402

DEFAULT_REPO = "/work/.mirror/microsoft+azureml-inference-server/repo"
# The 1.5.1 release: "Merge pull request #114 from microsoft/salman/prepare151" (the repository
# tags no 1.5.x release; this merge is the commit the 1.5.1 wheel was prepared from).
DEFAULT_REF = "4a7ea9b"
PORTS = (5001, 5000, 8347, 8346, 5002)
DELIBERATE = {"test_seperate_health_port", "test_set_custom_health_port_cli"}

CONFTEST = '''"""Written by mldeploy's bench/azmlinfsrv_scenarios.py: upstream's free_port fixture SIGTERMs
any process on port 5001; this one only requires the port to be free (the servers the tests
start are killed by the tests' own cleanup())."""
import socket
import time

import pytest


@pytest.fixture(autouse=True)
def free_port():
    for _ in range(40):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", 5001)) != 0:
                return
        time.sleep(0.25)
    pytest.fail("port 5001 is still taken (a server from an earlier test, or another program)")
'''

SERVERS = {
    "azmlinfsrv": 'exec "{venv}/bin/azmlinfsrv" "$@"',
    "mldeploy": 'MLDEPLOY_SCORING_SERVER=mldeploy exec "{venv}/bin/python" "{host}" "$@"',
    "mldeploy-wsgi": 'MLDEPLOY_SCORING_SERVER=mldeploy MLDEPLOY_GRANIAN_INTERFACE=wsgi exec "{venv}/bin/python" "{host}" "$@"',
    "mldeploy-gunicorn": 'MLDEPLOY_SCORING_SERVER=azmlinfsrv exec "{venv}/bin/python" "{host}" "$@"',
}


def repo_at_hand(repo: str | None = None) -> bool:
    """Whether the clone the tests come from is here (tests/bench runs this script only then)."""
    return Path(repo or os.environ.get("MLDEPLOY_AZMLINFSRV_REPO", DEFAULT_REPO)).exists()


def ensure_venv(venv: Path) -> None:
    if not (venv / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    packages = [f"{name}=={version}" for name, version in TESTED_VERSIONS.items()]
    # numpy: test_swagger_scenarios' scripts use inference-schema's numpy types; flask-cors: see above
    packages += ["pytest", "requests", "psutil", "numpy", "flask-cors"]
    done = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", *packages],
                          capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"error: pip install into {venv} failed:\n{done.stderr}")


def busy_ports() -> list[int]:
    busy = []
    for port in PORTS:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                busy.append(port)
    return busy


def extract_tests(repo: str, ref: str, into: Path) -> Path:
    archive = subprocess.run(["git", f"--git-dir={repo}" if not Path(repo, ".git").exists() else f"--git-dir={repo}/.git",
                              "archive", ref, "tests/azmlinfsrv"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    tests = into / "tests" / "azmlinfsrv"
    (tests / "scenarios" / "conftest.py").write_text(CONFTEST)
    return tests


def run_server(server: str, tests: Path, venv: Path, work: Path, select: str | None) -> tuple[int, int, list[str]]:
    bin_dir = work / f"bin-{server}"
    bin_dir.mkdir()
    shim = bin_dir / "azmlinfsrv"
    shim.write_text("#!/bin/sh\n" + SERVERS[server].format(venv=venv, host=ROOT / "mldeploy/scoring/scorer_host.py") + "\n")
    shim.chmod(0o755)
    env = {key: value for key, value in os.environ.items() if not key.startswith("MLDEPLOY_")}
    env["PATH"] = f"{bin_dir}:{venv / 'bin'}:{env.get('PATH', '')}"
    command = [str(venv / "bin" / "python"), "-m", "pytest", "scenarios", "-p", "no:cacheprovider", "-q", "-rf",
               f"--test_run_name={server}"]
    if select:
        command += ["-k", select]
    result = subprocess.run(command, cwd=tests, env=env, capture_output=True, text=True)
    log = work / f"{server}.log"
    log.write_text(result.stdout + result.stderr)
    passed = sum(int(n) for n in re.findall(r"(\d+) passed", result.stdout.splitlines()[-1] if result.stdout else ""))
    failed_names = re.findall(r"^FAILED \S+::(\w+)", result.stdout, re.M)
    errors = re.findall(r"(\d+) error", result.stdout.splitlines()[-1] if result.stdout else "")
    total = passed + len(failed_names) + sum(int(n) for n in errors)
    return passed, total, failed_names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", default=os.environ.get("MLDEPLOY_AZMLINFSRV_REPO", DEFAULT_REPO))
    parser.add_argument("--ref", default=DEFAULT_REF)
    parser.add_argument("--servers", default="azmlinfsrv,mldeploy")
    parser.add_argument("--venv", type=Path, default=Path.home() / ".cache/mldeploy/azmlinfsrv-scenarios")
    parser.add_argument("-k", dest="select", default=None, help="pytest -k expression")
    parser.add_argument("--keep", action="store_true", help="keep the folder with the tests, logs and servers' output")
    args = parser.parse_args(argv)
    servers = args.servers.split(",")
    unknown = [name for name in servers if name not in SERVERS]
    if unknown:
        print(f"error: --servers: unknown {', '.join(unknown)} (allowed: {', '.join(SERVERS)})", file=sys.stderr)
        return 2
    if not repo_at_hand(args.repo):
        print(f"error: --repo: {args.repo} does not exist (a clone of microsoft/azureml-inference-server)",
              file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="azmlinfsrv-scenarios-"))
    try:
        tests = extract_tests(args.repo, args.ref, work)
        for server in servers:
            busy = busy_ports()
            if busy:
                print(f"error: port(s) {busy} in use: the scenario tests need them free", file=sys.stderr)
                return 2
            ensure_venv(args.venv)
            passed, total, failed = run_server(server, tests, args.venv, work, args.select)
            deliberate = sorted(set(failed) & DELIBERATE) if server.startswith("mldeploy") else []
            print(f"{server}: {passed}/{total} passed" + (f"; failed: {', '.join(failed)}" if failed else "")
                  + (f" (deliberate: {', '.join(deliberate)})" if deliberate else ""), flush=True)
    finally:
        if args.keep:
            print(f"kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
