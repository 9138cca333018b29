"""Real scoring scripts (tests/scoring/real_scripts/, each citing its repository, path and commit)
served by azmlinfsrv (scoringServer azmlinfsrv: gunicorn) and by mldeploy's host (granian), with
stand-in models trained here; the same requests to both - good and bad input, GET, swagger,
request ids, a header name with "_", file uploads - must get the same status, content type, body
and azmlinfsrv headers (what is compared, and what is not: test_scoring_server_contract.py).
All scripts tried, and the result of each: docs/scoring.md, "Real scoring scripts"."""
from __future__ import annotations

import io
import json
import shutil
import struct
import zlib
from pathlib import Path

import joblib
import pytest
from sklearn.datasets import load_diabetes, load_iris
from sklearn.linear_model import LogisticRegression, Ridge

from mldeploy.config.stack import ImageSettings, ModelSettings
from mldeploy.plan.models import resolve_model
from mldeploy.render.build_context import render_build_context
from mldeploy.runtime.env import ensure_env
from tests.runtime.conftest import DIABETES
from tests.scoring.test_scoring_server_contract import assert_answered_alike, both_scorers, send

pytestmark = pytest.mark.slow
SCRIPTS = Path(__file__).parent / "real_scripts"
JSON = {"Content-Type": "application/json"}
ROWS = [[0.03, 0.05, 0.06, 0.02, -0.04, -0.03, -0.04, 0.0, 0.02, -0.02],
        [-0.0, -0.04, -0.05, -0.03, -0.01, -0.02, 0.07, -0.04, -0.07, -0.09]]
IRIS = {"sepal_length": 7.2, "sepal_width": 3.2, "petal_length": 6.0, "petal_width": 1.8}
RIDGE = {"sklearn_regression_model": {"sklearn_regression_model.pkl": "ridge"}}


def _png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A small PNG, standard library only."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def _multipart(files: list[tuple[str, str, bytes]]) -> tuple[dict, bytes]:
    out = io.BytesIO()
    for field, name, data in files:
        out.write(f'--b0undary\r\nContent-Disposition: form-data; name="{field}"; filename="{name}"\r\n'
                  "Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
    out.write(b"--b0undary--\r\n")
    return {"Content-Type": "multipart/form-data; boundary=b0undary"}, out.getvalue()


# script -> (models: {entry: {file in the registered model: stand-in}}, a valid JSON body or None)
CASES = {
    "deploy_to_cloud": (RIDGE, {"data": ROWS}),
    "multi_model": ({"my_first_model": {"m1.pkl": "ridge"}, "my_second_model": {"m2.pkl": "ridge2"}}, {"data": ROWS}),
    "controlled_rollout": (RIDGE, {"data": ROWS}),
    "aks_swagger_nested": (RIDGE, {"inputs": {"input1": ROWS, "input2": [{"name": "Sarah", "age": 25}], "input3": 0.0}}),
    "is_pandas": ({"iris": {"models/iris.pkl": "iris"}}, {"iris": [IRIS, IRIS]}),
    "is_standard": ({"iris": {"models/iris.pkl": "iris"}}, {k: [v, 1.0] for k, v in IRIS.items()}),
    "minimal_multimodel": ({"multi": {"models/iris.pkl": "iris", "models/diabetes.pkl": "ridge"}},
                           {"model": "iris", "data": [list(IRIS.values())]}),
    "single_file_to_file": ({}, None),
    "multi_file_to_json": ({}, None),
    "byoc_multimodel": ({"abyoc": {"gpt/weights.txt": "gpt", "opt/weights.txt": "opt"}},
                        json.dumps({"value": "Would you tell me, please"})),  # its run(): json.loads(request.json)
}


def corpus(valid) -> list[tuple[str, str, str, dict, bytes | None]]:
    body = json.dumps(valid).encode() if valid is not None else b"{}"
    large = {k: v * 10_000 if isinstance(v, list) else v for k, v in valid.items()} if isinstance(valid, dict) else valid
    red, blue = _png(64, 48, (200, 30, 30)), _png(10, 20, (0, 0, 255))
    return [
        ("valid", "POST", "/score", JSON, body),
        ("large", "POST", "/score", JSON, json.dumps(large).encode()),
        ("charset", "POST", "/score", {"Content-Type": "application/json; charset=utf-8"}, body),
        ("text-plain", "POST", "/score", {"Content-Type": "text/plain"}, body),
        ("malformed", "POST", "/score", JSON, b'{"data": [[1, 2]'),
        ("empty", "POST", "/score", JSON, b""),
        ("missing-key", "POST", "/score", JSON, b"{}"),
        ("wrong-shape", "POST", "/score", JSON, b'{"data": [[1, 2]], "iris": [[1, 2]], "inputs": {"input1": [[1]]}}'),
        ("strings", "POST", "/score", JSON, b'{"data": [["a"]], "iris": "x", "inputs": "x", "model": "nope"}'),
        ("nan", "POST", "/score", JSON, b'{"data": [[NaN, 1, 2, 3, 4, 5, 6, 7, 8, 9]], "iris": [[NaN, 1, 2, 3]]}'),
        ("get", "GET", "/score", {}, None),
        ("get-params", "GET", "/score?data=[[1,2]]&sepal_length=[1]", {}, None),
        ("swagger", "GET", "/swagger.json", {}, None),
        ("swagger-3", "GET", "/swagger.json?version=3", {}, None),
        ("health", "GET", "/", {}, None),
        ("ids", "POST", "/score", {**JSON, "x-request-id": "rid-1", "x-ms-client-request-id": "cid-1"}, body),
        # gunicorn drops a header whose name holds "_" (before: mldeploy answered x-request-id: u)
        ("underscore-id", "POST", "/score", {**JSON, "x_request_id": "u", "Model_": "gpt"}, body),
        ("model-gpt", "POST", "/score", {**JSON, "Model": "gpt"}, body),
        ("model-unknown", "POST", "/score", {**JSON, "Model": "nope"}, body),
        ("file", "POST", "/score", *_multipart([("file", "red.png", red)])),
        ("files", "POST", "/score", *_multipart([("file[]", "red.png", red), ("file[]", "blue.png", blue)])),
        ("no-file", "POST", "/score", *_multipart([("other", "red.png", red)])),
        ("not-an-image", "POST", "/score", *_multipart([("file", "x.txt", b"text")])),
    ]


@pytest.fixture(scope="module")
def real_env():
    """The diabetes environment plus pandas and Pillow (the scripts' imports)."""
    text = (DIABETES / "myenv.yml").read_text() + "      - pandas==2.3.3\n      - pillow==13.0.0\n"
    return text, ensure_env("conda", text, progress=lambda m: None, scoring_server="mldeploy")


@pytest.fixture(scope="module")
def stand_ins(tmp_path_factory) -> Path:
    """The stand-in models: Ridge on the diabetes data (two), LogisticRegression on iris."""
    root = tmp_path_factory.mktemp("stand-ins")
    x, y = load_diabetes(return_X_y=True)
    joblib.dump(Ridge().fit(x, y), root / "ridge")
    joblib.dump(Ridge(alpha=0.5).fit(x, y), root / "ridge2")
    x, y = load_iris(return_X_y=True)
    joblib.dump(LogisticRegression(max_iter=500).fit(x, y), root / "iris")
    (root / "gpt").write_text("gpt-w\n")
    (root / "opt").write_text("opt-w\n")
    return root


def _context(root: Path, name: str, models: dict, stand_ins: Path, env_text: str, server: str):
    source = SCRIPTS / name
    if source.is_dir():  # the script with the modules beside it: sourceDirectory
        shutil.copytree(source, root / "code")
        image = {"sourceDirectory": "code", "entryScript": "score.py"}
    else:
        shutil.copy(SCRIPTS / f"{name}.py", root / "score.py")
        image = {"entryScript": "score.py"}
    (root / "env.yml").write_text(env_text)
    resolved = []
    for entry, files in models.items():
        for rel, stand_in in files.items():
            (root / "models" / entry / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(stand_ins / stand_in, root / "models" / entry / rel)
        # a model of one file registers that file (as v1's Model.register(model_path='x.pkl')); else the folder
        path = f"models/{entry}/{next(iter(files))}" if len(files) == 1 and "/" not in next(iter(files)) \
            else f"models/{entry}"
        settings = ModelSettings.model_validate({"path": path, "version": 1}, context={"root": root})
        resolved.append(resolve_model(entry.replace("_", "-"), settings, root))
    settings = ImageSettings.model_validate(
        {**image, "condaFile": "env.yml", "models": [m.name for m in resolved] or ["none"], "scoringServer": server},
        context={"root": root})
    return render_build_context(name, settings, resolved, root)


@pytest.fixture(scope="module", params=list(CASES))
def servers(request, real_env, stand_ins, tmp_path_factory):
    """azmlinfsrv and mldeploy's host (one worker each) serving the script, on 127.0.0.1."""
    env_text, env = real_env
    name = request.param
    models, valid = CASES[name]
    contexts = {}
    for server in ("azmlinfsrv", "mldeploy"):
        root = tmp_path_factory.mktemp(f"{name}-{server}")
        contexts[server] = root, _context(root, name, models, stand_ins, env_text, server)
    with both_scorers(contexts, env, 5000) as ports:
        yield name, valid, ports


@pytest.mark.parametrize("case", [c[0] for c in corpus(None)])
def test_a_real_script_answers_alike_on_both_servers(servers, case):
    name, valid, ports = servers
    _, method, path, headers, body = next(c for c in corpus(valid) if c[0] == case)
    assert_answered_alike(f"{name}/{case}", ports, method, path, headers, body)


def test_the_scripts_did_their_work(servers):
    """Guards the comparison: each script scored its valid request (not 500 on both)."""
    name, valid, ports = servers
    _, method, path, headers, body = next(c for c in corpus(valid) if c[0] == ("file" if valid is None else
                                                                                 "model-gpt" if name == "byoc_multimodel"
                                                                                 else "valid"))
    answer = send(ports["mldeploy"], method, path, dict(headers), body)
    assert answer["status"] == 200, f"{name}: {answer['status']} {answer['body'][:300]!r}"
