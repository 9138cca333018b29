"""Batching, differential (issue 23): 10,000 mixed requests (valid rows of several sizes and types,
wrong shapes, strings, NaN, missing keys, non-JSON) sent 48 at a time through the gateway to a
scorer whose image batches, and every answer compared with the unbatched server's answer to the
same body (status and body, byte for byte). Three scripts: the random-forest example (undecorated
run(), JSON text), an inference-schema pandas script (records) and the diabetes example
(inference-schema, Ridge). The unbatched server answers each distinct body once: its answer
depends on the body alone, and the forest's run() costs ~10-100 ms a request unbatched here.
Also: the scorer refuses to start when the contract fails on the sampleRequest."""
from __future__ import annotations

import collections
import concurrent.futures
import http.client
import json
import math
import random
import shutil
from pathlib import Path

import pytest

from mldeploy.targets.local.settings import LocalServiceSettings
from mldeploy.config.stack import ImageSettings, ModelSettings
from mldeploy.plan.models import resolve_model
from mldeploy.plan.serve import plan_serve
from mldeploy.render.build_context import render_build_context
from mldeploy.runtime.env import ensure_env
from mldeploy.runtime.local import LocalServer
from mldeploy.runtime.processes import StartError
from tests.harness import ROOT

DIABETES = ROOT / "examples" / "diabetes"
FOREST = ROOT / "examples" / "forest"
REQUESTS = 10_000
CONCURRENCY = 48

PANDAS_SCRIPT = '''
import pandas as pd
from inference_schema.parameter_types.pandas_parameter_type import PandasParameterType
from inference_schema.schema_decorators import input_schema


def init():
    pass


@input_schema("data", PandasParameterType(pd.DataFrame({"age": [30.0], "bmi": [22.5], "smoker": ["no"]})))
def run(data, scale=1.0):
    risk = data["age"] * 0.013 * scale + data["bmi"] / 7.0 + (data["smoker"] == "yes") * 1.5
    return {"risk": risk.round(9).tolist(), "band": pd.cut(risk, [-1e9, 3, 6, 1e9], labels=["low", "mid", "high"]).astype(str).tolist()}
'''


@pytest.fixture(scope="module")
def env():
    # The contract test's environment (the diabetes file plus pandas): one cached environment.
    return ensure_env("conda", (DIABETES / "myenv.yml").read_text() + "      - pandas==2.3.3\n",
                      progress=lambda m: None, scoring_server="mldeploy")


def _project(tmp_path_factory, name: str, files: dict[str, bytes | Path]) -> Path:
    root = tmp_path_factory.mktemp(f"{name}-project")
    for rel, content in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            shutil.copy(content, root / rel)
        else:
            (root / rel).write_bytes(content)
    (root / "env.yml").write_text((DIABETES / "myenv.yml").read_text() + "      - pandas==2.3.3\n")
    return root


def _server(tmp_path_factory, env, root: Path, name: str, model: str | None, batching: dict | None):
    models = [resolve_model(name, ModelSettings.model_validate({"path": model, "version": 1}, context={"root": root}),
                            root)] if model else []
    image = ImageSettings.model_validate({
        "entryScript": f"{name}/score.py", "condaFile": "env.yml", "models": [name],
        "sampleRequest": f"{name}/sample.json", **({"batching": batching} if batching else {})}, context={"root": root})
    context = render_build_context(name, image, models, root)
    service = LocalServiceSettings.model_validate({"target": "local", "image": name, "workerCount": 2,
                                                   "cpuCores": 2})
    server = LocalServer(plan_serve(name, service, production=False), context, env,
                         tmp_path_factory.mktemp(f"{name}-run"), port=0)
    server.start(timeout=180)
    return server


def _post(server, body: bytes) -> tuple[int, bytes, str | None]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    try:
        conn.request("POST", "/score", body, {"Content-Type": "application/json",
                                              "Authorization": f"Bearer {server.keys[0]}"})
        response = conn.getresponse()
        return response.status, response.read(), response.getheader("x-mldeploy-batch")
    finally:
        conn.close()


def _differential(batched, unbatched, pool: list[bytes]) -> tuple[list, collections.Counter]:
    """Send REQUESTS bodies drawn from `pool` to `batched`; compare with `unbatched`'s answers."""
    rng = random.Random(23)
    bodies = [rng.choice(pool) for _ in range(REQUESTS)]
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        reference = dict(zip(pool, ex.map(lambda b: _post(unbatched, b)[:2], pool)))
    with concurrent.futures.ThreadPoolExecutor(CONCURRENCY) as ex:
        answers = list(ex.map(lambda b: _post(batched, b), bodies))
    sizes = collections.Counter(int(a[2]) if a[2] else 1 for a in answers)
    differ = [(body, reference[body], answer[:2]) for body, answer in zip(bodies, answers) if answer[:2] != reference[body]]
    return differ, sizes


def _rows_pool(rng: random.Random, features: int) -> list[bytes]:
    """Valid bodies of 1-5 rows (floats, ints, mixed), and bodies no batch may take or that fail."""
    pool = []
    for _ in range(220):
        rows = rng.choice([1, 1, 1, 2, 3, 5])
        kind = rng.choice(["float", "float", "int", "mixed"])
        data = [[(round(rng.gauss(0, 0.05), 4) if kind == "float" else rng.randint(-2, 2) if kind == "int"
                  else rng.choice([round(rng.gauss(0, 0.05), 4), rng.randint(-2, 2)])) for _ in range(features)]
                for _ in range(rows)]
        pool.append(json.dumps({"data": data}).encode())
    pool += [b'{"data": [[1, 2, 3]]}', b'{"data": [[1, 2, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]]}',
             json.dumps({"data": [[1] * (features - 1) + ["x"]]}).encode(),
             json.dumps({"data": [[float("nan")] + [1.0] * (features - 1)]}).encode(),
             json.dumps({"data": [[1e308] * features]}).encode(), b'{"data": []}', b'{"data": "rows"}',
             b'{"rows": [[1]]}', b"[1, 2]", b"not json", b"", json.dumps({"data": [[0.5] * features], "x": 1}).encode()]
    return pool


@pytest.fixture(scope="module")
def forest_servers(env, tmp_path_factory, trained_model):
    files = {"forest/score.py": FOREST / "score.py", "forest/sample.json": FOREST / "sample-request.json",
             "forest/forest.pkl": FOREST / "outputs" / "forest.pkl"}
    root = _project(tmp_path_factory, "forest", files)
    batched = _server(tmp_path_factory, env, root, "forest", "forest/forest.pkl", {"maxBatchSize": 64, "maxLatencyMs": 50})
    unbatched = _server(tmp_path_factory, env, root, "forest", "forest/forest.pkl", None)
    yield batched, unbatched
    batched.stop()
    unbatched.stop()


def test_forest_10000_mixed_requests_batched_answer_byte_for_byte_as_unbatched(forest_servers):
    differ, sizes = _differential(*forest_servers, _rows_pool(random.Random(1), 10))
    assert not differ, f"{len(differ)} of {REQUESTS} answers differ, e.g. {differ[:2]}"
    shared = REQUESTS - sizes[1]
    assert shared > REQUESTS // 4, f"batching must have happened: requests per batch {dict(sizes)}"


@pytest.fixture(scope="module")
def pandas_servers(env, tmp_path_factory):
    sample = json.dumps({"data": [{"age": 30.0, "bmi": 22.5, "smoker": "no"}, {"age": 61.0, "bmi": 31.0, "smoker": "yes"}]})
    root = _project(tmp_path_factory, "risk", {"risk/score.py": PANDAS_SCRIPT.encode(), "risk/sample.json": sample.encode(),
                                               "risk/none.txt": b"no model\n"})
    batched = _server(tmp_path_factory, env, root, "risk", "risk/none.txt", {"maxBatchSize": 32, "maxLatencyMs": 20})
    unbatched = _server(tmp_path_factory, env, root, "risk", "risk/none.txt", None)
    yield batched, unbatched
    batched.stop()
    unbatched.stop()


def _records_pool(rng: random.Random) -> list[bytes]:
    pool = []
    for _ in range(200):
        rows = [{"age": round(rng.uniform(18, 90), 1), "bmi": round(rng.uniform(15, 45), 2),
                 "smoker": rng.choice(["yes", "no"])} for _ in range(rng.choice([1, 1, 2, 4]))]
        extra = rng.choice([{}, {}, {"scale": 2.0}])
        pool.append(json.dumps({"data": rows, **extra}).encode())
    pool += [b'{"data": [{"age": 40, "bmi": 20, "smoker": "no"}]}',  # int columns: another dtype, alone
             b'{"data": [{"age": 40.0, "smoker": "no"}]}', b'{"data": [{"age": "old", "bmi": 1.0, "smoker": "no"}]}',
             b'{"data": []}', b'{"scale": 2.0}', b"{", b'{"data": [{"age": 40.0, "bmi": 20.0, "smoker": "no"}], "scale": "x"}']
    return pool


def test_pandas_10000_mixed_requests_batched_answer_byte_for_byte_as_unbatched(pandas_servers):
    differ, sizes = _differential(*pandas_servers, _records_pool(random.Random(2)))
    assert not differ, f"{len(differ)} of {REQUESTS} answers differ, e.g. {differ[:2]}"
    assert REQUESTS - sizes[1] > 0, f"batching must have happened: requests per batch {dict(sizes)}"


@pytest.fixture(scope="module")
def diabetes_servers(env, tmp_path_factory, trained_model):
    files = {"diabetes/score.py": DIABETES / "score.py", "diabetes/sample.json": DIABETES / "sample-request.json",
             "diabetes/sklearn_regression_model.pkl": DIABETES / "outputs" / "sklearn_regression_model.pkl"}
    root = _project(tmp_path_factory, "diabetes", files)
    model = "diabetes/sklearn_regression_model.pkl"
    batched = _server(tmp_path_factory, env, root, "diabetes", model, {"maxBatchSize": 32, "maxLatencyMs": 10})
    unbatched = _server(tmp_path_factory, env, root, "diabetes", model, None)
    yield batched, unbatched
    batched.stop()
    unbatched.stop()


@pytest.fixture(scope="module")
def diabetes_run(diabetes_servers):
    return _differential(*diabetes_servers, _rows_pool(random.Random(3), 10))


def test_diabetes_batched_answers_differ_only_by_rounding_in_a_prediction(diabetes_run):
    differ, sizes = diabetes_run
    assert REQUESTS - sizes[1] > 0, f"batching must have happened: requests per batch {dict(sizes)}"
    for body, expected, got in differ:
        assert expected[0] == got[0] == 200, f"only predictions may differ: {body!r}: {expected} vs {got}"
        a, b = json.loads(expected[1]), json.loads(got[1])
        # A sum's rounding in another order: a few units in the last place of its terms (1e-14 of ~100).
        assert len(a) == len(b) and all(math.isfinite(x) and abs(x - y) <= 1e-12 * max(1.0, abs(x))
                                        for x, y in zip(a, b)), (body, a, b)


# No fix keeps batching: a row's prediction depends on the row count in Ridge.predict itself
# (X @ coef_, OpenBLAS 0.3.31 Haswell). One row alone takes another path than rows in a batch,
# and in a batch the rows are summed four at a time with the rest apart: for the same 2,048
# rows, batches of 4, 32 and 2,048 agree, batches of 2/3/7 differ in 143/110/44 rows, one row
# at a time in 256 (2026-12-05). OPENBLAS_NUM_THREADS=1 changes nothing and
# OPENBLAS_CORETYPE=Prescott only the counts. An unbatched 1-row request is the one-row path,
# so only run() row by row - no batching - matches it; the scoring script is the user's and stays unchanged.
@pytest.mark.xfail(strict=True, reason="not met (issue 23): Ridge.predict is a BLAS matrix-vector product whose "
                   "OpenBLAS kernel sums a row in another order for other row counts, so a batched row's "
                   "prediction can differ from its unbatched one by rounding (~1e-14; measured: 0.5-12 % of rows)")
def test_diabetes_10000_mixed_requests_batched_answer_byte_for_byte_as_unbatched(diabetes_run):
    differ, _ = diabetes_run
    assert not differ, f"{len(differ)} of {REQUESTS} answers differ"


def test_a_run_whose_results_depend_on_the_batch_is_refused_at_start(env, tmp_path_factory):
    script = ("import json\n\ndef init():\n    pass\n\ndef run(raw_data):\n    rows = json.loads(raw_data)['data']\n"
              "    return [len(rows) for _ in rows]\n")
    root = _project(tmp_path_factory, "counting", {"counting/score.py": script.encode(),
                                                   "counting/sample.json": b'{"data": [[1], [2]]}',
                                                   "counting/none.txt": b"x\n"})
    with pytest.raises(StartError) as info:
        _server(tmp_path_factory, env, root, "counting", "counting/none.txt", {"maxBatchSize": 8, "maxLatencyMs": 5})
    message = str(info.value)
    assert "batching" in message and "other results" in message, message
