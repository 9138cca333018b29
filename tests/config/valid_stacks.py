"""A corpus of VALID variants of the example stacks (issue 24: a refusal of a valid stack is worse
than a missed bad one). Each case is what a real user writes - an entry-script signature azmlinfsrv
calls, a requirements or conda file pip and conda read, a value that looks random but is no secret,
a region spelt the way Azure accepts, a name, namespace, tag, port, env name, createOptions shape or
CORS origin its platform defines as valid - and `tests/cli/test_valid_stacks.py` runs `mldeploy synth`
on each and expects exit 0 (the path the bad corpus runs, tests/config/bad_stacks.py).

Where validity is Azure's, Docker's or a tool's, the comment beside the case names the source.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Callable, Iterator

from tests.config.bad_stacks import Case, _dump, _load
from tests.config.bad_stacks_h24b import h24b_more_valid_cases, h24b_valid_cases
from tests.config.bad_stacks_hbad import hbad_valid_cases
from tests.config.bad_stacks_hbad2 import hbad2_valid_cases

S, E, B, IMG, M = "mldeploy:services", "mldeploy:edge", "mldeploy:batch", "mldeploy:images", "mldeploy:models"

_INIT = "def init():\n    pass\n\n\n"
# Entry scripts the server can call. azmlinfsrv 1.5.1 (server/user_script.py, _analyze_run) calls
# init() with no argument and run() by keyword: `run(<first parameter>=data)`, plus
# `request_headers=` when run() declares it; @input_schema maps the body's keys to parameters by
# name; @rawhttp hands the request. Azure ML's batch driver calls init() and run(mini_batch).
ENTRY_SCRIPTS = {
    "run-raw-data-request-headers.py": _INIT + "def run(raw_data, request_headers):\n    return raw_data\n",
    "run-request-headers-default.py": _INIT + "def run(data, request_headers=None):\n    return data\n",
    "run-input-data.py": _INIT + "def run(input_data):\n    return input_data\n",
    "run-annotated.py": "from typing import Any\n\n\ndef init() -> None:\n    pass\n\n\n"
                        "def run(data: dict[str, Any]) -> list[float]:\n    \"\"\"Score.\"\"\"\n    return [1.0]\n",
    "run-optional-extra.py": _INIT + "def run(data, threshold=0.5, *, verbose=False):\n    return data\n",
    "run-keyword-only.py": _INIT + "def run(*, data):\n    return data\n",
    "init-default-args.py": "def init(model_dir=None, *, warm=True):\n    pass\n\n\ndef run(data):\n    return data\n",
    "init-varargs.py": "def init(*args, **kwargs):\n    pass\n\n\ndef run(data):\n    return data\n",
    "input-schema-two.py": (
        "from inference_schema.schema_decorators import input_schema, output_schema\n"
        "from inference_schema.parameter_types.standard_py_parameter_type import StandardPythonParameterType\n\n\n"
        + _INIT +
        "@input_schema('Inputs', StandardPythonParameterType({'data': [[1.0]]}))\n"
        "@input_schema('GlobalParameters', StandardPythonParameterType({'method': 'predict'}))\n"
        "@output_schema(StandardPythonParameterType([1.0]))\n"
        "def run(Inputs, GlobalParameters):\n    return [1.0]\n"),
    "input-schema-headers.py": (
        "from inference_schema.schema_decorators import input_schema\n"
        "from inference_schema.parameter_types.standard_py_parameter_type import StandardPythonParameterType\n\n\n"
        + _INIT +
        "@input_schema('input_data', StandardPythonParameterType([[1.0]]))\n"
        "def run(input_data, request_headers):\n    return input_data\n"),
    "rawhttp.py": ("from azureml.contrib.services.aml_request import AMLRequest, rawhttp\n"
                   "from azureml.contrib.services.aml_response import AMLResponse\n\n\n" + _INIT +
                   "@rawhttp\ndef run(request):\n    return AMLResponse(request.get_data(), 200)\n"),
    "bound-methods.py": ("class Scorer:\n    def init(self):\n        pass\n\n    def run(self, data):\n        return data\n\n\n"
                         "_scorer = Scorer()\ninit = _scorer.init\nrun = _scorer.run\n"),
    "imported.py": "from scoring_lib.entry import init, run  # noqa: F401  (the image ships scoring_lib)\n",
    "guarded.py": ("try:\n    import numpy as np\nexcept ImportError:\n    np = None\n\nif np is not None:\n"
                   "    def init():\n        pass\nelse:\n    def init():\n        pass\n\n\ndef run(data):\n    return data\n"),
    "crlf-bom.py": "\ufeff# -*- coding: utf-8 -*-\r\n\"\"\"Bewertung: Übung.\"\"\"\r\n\r\n\r\ndef init():\r\n    pass\r\n\r\n\r\n"
                   "def run(data):\r\n    return data\r\n",
    "match-statement.py": _INIT + "def run(data):\n    match data:\n        case {\"data\": rows}:\n            return rows\n"
                          "        case _:\n            return None\n",
    "batch-mini-batch-typed.py": ("import pandas as pd\n\n\n" + _INIT +
                                 "def run(mini_batch: list[str]) -> pd.DataFrame:\n    return pd.DataFrame({'file': mini_batch})\n"),
}

# Requirements files pip reads (pip's "Requirements File Format": PEP 508 lines with extras and
# markers, options such as --index-url / --extra-index-url / -f / --hash, URLs and VCS links, line
# continuations, comments, and `${VAR}` environment variables expanded by pip - the documented way
# to keep a token out of the file).
REQUIREMENTS = {
    "req-extras-markers.txt": ("azureml-inference-server-http==1.5.1\n"
                               "inference-schema[numpy-support]==1.8  # extras\n"
                               "numpy>=1.26,<3; python_version >= \"3.10\"\n"
                               "backports.zoneinfo; python_version < \"3.9\"\n"
                               "scikit-learn ~= 1.9\n"
                               "ruamel.yaml>=0.18\n"),
    "req-options.txt": ("--index-url https://pypi.org/simple\n"
                        "--extra-index-url https://download.pytorch.org/whl/cpu\n"
                        "-f https://download.pytorch.org/whl/torch_stable.html\n"
                        "--only-binary :all:\n--prefer-binary\n\n"
                        "# the scorer\nazureml-inference-server-http==1.5.1\n"
                        "torch==2.3.0+cpu\n"),
    "req-hashes.txt": ("joblib==1.4.2 \\\n    --hash=sha256:06d478d5674cbc267e7496a410ee875abd68e4340feff4490bcb7afb88060ae6 \\\n"
                       "    --hash=sha256:2382c5816b2636fbd20a09e0f4e9dad4736765fdfb7dca582943b9c1366b3f0c\n"
                       "azureml-inference-server-http==1.5.1\n"),
    "req-vcs-urls.txt": ("azureml-inference-server-http==1.5.1\n"
                         "git+https://github.com/org/feature-lib.git@v1.2.0#egg=feature-lib\n"
                         "mylib @ git+https://github.com/org/mylib@0123456789abcdef0123456789abcdef01234567\n"
                         "otherlib @ https://files.example.com/otherlib-1.0-py3-none-any.whl\n"
                         "https://files.example.com/thirdlib-2.0.tar.gz\n"),
    "req-env-token.txt": ("--extra-index-url https://build:${PIP_TOKEN}@pkgs.dev.azure.com/org/_packaging/feed/pypi/simple/\n"
                          "privatelib @ git+https://${GITHUB_USER}:${GITHUB_TOKEN}@github.com/org/privatelib.git@v1\n"
                          "azureml-inference-server-http==1.5.1\n"),
    # pip's includes (pip docs, "Requirements File Format": `-r`/`-c`, paths relative to the including
    # file), with hashes and markers in the included files, and a file included twice.
    "req-includes.txt": "-r includes/base.txt\n--constraint includes/constraints.txt\n-rincludes/markers.txt\n",
    "includes/base.txt": ("--requirement=../req-hashes.txt  # hashes, continued lines\n"
                          "-r markers.txt\n"),
    "includes/markers.txt": "numpy>=1.26,<3; python_version >= \"3.10\"\n",
    "includes/constraints.txt": "scikit-learn<2 ; python_version >= \"3.9\"\n",
    "env/req-up.txt": "-r ../includes/markers.txt\nazureml-inference-server-http==1.5.1\n",
    # one package pinned twice under markers that never hold together, and once more the same pin
    "req-markers-split.txt": ("numpy==1.26.4; python_version < \"3.10\"\nnumpy==2.4.6; python_version >= \"3.10\"\n"
                              "joblib==1.6.0\njoblib==1.6.0\n"),
}
# The ones a stack names (the others are included by them).
REQUIREMENTS_NAMED = ("req-extras-markers.txt", "req-options.txt", "req-hashes.txt", "req-vcs-urls.txt",
                      "req-env-token.txt", "req-includes.txt", "env/req-up.txt", "req-markers-split.txt")

# conda environment files conda reads (conda docs, "Creating an environment file manually": name,
# channels, dependencies with match specs and one pip: list; `variables:` since conda 4.9).
CONDA_FILES = {
    "conda-range.yml": ("name: scoring\nchannels:\n  - conda-forge\n  - defaults\ndependencies:\n"
                        "  - python>=3.10,<3.13\n  - pip=24.0\n  - nomkl\n  - pip:\n"
                        "      - azureml-inference-server-http==1.5.1\n      - inference-schema[numpy-support]==1.8\n"
                        "      - numpy>=1.26; python_version >= \"3.10\"\n"
                        "      - --extra-index-url https://download.pytorch.org/whl/cpu\n"),
    "conda-channel-spec.yml": ("channels: [conda-forge]\ndependencies:\n  - conda-forge::python=3.12.*\n  - scikit-learn=1.5\n"
                               "  - pip\n  - pip:\n      - azureml-inference-server-http==1.5.1\n"
                               "variables:\n  OMP_NUM_THREADS: \"1\"\n"),
    "conda-python-bracket.yml": ("name: x\ndependencies:\n  - python 3.11\n  - pip\n  - pip:\n"
                                 "    - azureml-inference-server-http\n    - git+https://github.com/org/lib.git@v1\n"),
    "conda-python-313.yml": "name: x\ndependencies:\n  - python==3.13.1\n  - pip\n  - pip:\n    - azureml-inference-server-http\n",
    # conda's numpy and a pip pin of another numpy: pip installs its own over conda's
    "conda-numpy-pip-over.yml": "name: x\ndependencies:\n  - python=3.11\n  - numpy=1.26\n  - pip\n  - pip:\n    - numpy==2.4.6\n",
    # two python lines that agree (conda merges them into one spec: 3.11)
    "conda-two-python-lines.yml": "name: x\ndependencies:\n  - python>=3.10\n  - python=3.11\n  - pip\n",
    "conda-env-token.yml": ("name: x\ndependencies:\n  - python=3.11\n  - pip\n  - pip:\n"
                            "    - --extra-index-url https://build:${PIP_TOKEN}@pkgs.dev.azure.com/org/_packaging/f/pypi/simple/\n"
                            "    - azureml-inference-server-http==1.5.1\n"),
}

GUID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
DIGEST = "sha256:" + "4f1c9d0e" * 8
# Values that look random but are not credentials: ids, digests, names, references to a secret
# kept elsewhere (a file, a Key Vault secret's name, Azure ML's secret injection).
NOT_SECRETS = {
    "AZURE_CLIENT_ID": GUID, "AZURE_TENANT_ID": GUID, "AZURE_SUBSCRIPTION_ID": GUID,
    "IMAGE_DIGEST": DIGEST, "MODEL_SHA256": "4f1c9d0e" * 8,
    "RESOURCE_ID": f"/subscriptions/{GUID}/resourceGroups/rg-data/providers/Microsoft.Storage/storageAccounts/stdata01",
    "STORAGE_CONTAINER": "model-inputs-2024", "STORAGE_ACCOUNT_NAME": "stmldeploy01",
    "SAMPLE_B64": "eyJkYXRhIjogW1sxLCAyLCAzXV19",
    "KEY_VAULT_URL": "https://kv-prod-weu.vault.azure.net/",
    # The secret stays in Key Vault; the scoring script reads it by name (what our own message advises).
    "KEY_VAULT_SECRET_NAME": "db-password", "DB_PASSWORD_FILE": "/run/secrets/db-password",
    "HF_TOKEN_PATH": "/mnt/secrets/hf-token", "ENCRYPTION_KEY_ID": "https://kv-prod-weu.vault.azure.net/keys/data/0a1b2c3d",
    # The Application Insights connection string: "Ikey unique identifiers aren't security tokens or
    # security keys, and aren't considered secrets" (learn.microsoft.com/azure/azure-monitor/app/connection-strings).
    "APPLICATIONINSIGHTS_CONNECTION_STRING": f"InstrumentationKey={GUID};IngestionEndpoint="
                                             "https://westeurope-5.in.applicationinsights.azure.com/;"
                                             f"LiveEndpoint=https://westeurope.livediagnostics.monitor.azure.com/;ApplicationId={GUID}",
    "APPINSIGHTS_INSTRUMENTATIONKEY": GUID,
    "TOKEN_AUDIENCE": f"api://{GUID}", "TOKEN_ISSUER": f"https://login.microsoftonline.com/{GUID}/v2.0",
    "TOKENS_PER_MINUTE": "2000000", "MAX_NEW_TOKENS": "512", "PASS_THRESHOLD": "0.75",
    "TOKENIZER_NAME": "bert-base-uncased", "PARTITION_KEY": "customer_id_2024_v1", "CACHE_KEY": "model-v2-2024-06-01",
    "MLFLOW_TRACKING_URI": f"azureml://westeurope.api.azureml.ms/mlflow/v1.0/subscriptions/{GUID}",
    "HTTP_PROXY": "http://proxy.corp.example.com:3128", "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1",
    "AZUREML_LOG_LEVEL": "DEBUG", "lower_case_name": "x", "_LEADING_UNDERSCORE": "1",
}
# Azure ML's secret injection for online deployments: the platform resolves these references with
# the endpoint's identity ("Secret injection in online endpoints", MicrosoftDocs/azure-ai-docs
# articles/machine-learning/how-to-deploy-online-endpoint-with-secret-injection.md, the patterns
# table): the stack holds a reference, never the secret.
SECRET_REFERENCES = {
    "OPENAI_API_KEY": "${{azureml://connections/aoai/credentials/key}}",
    "AOAI_CONNECTION": "${{azureml://connections/aoai}}",
    "DB_PASSWORD": "${{keyvault:https://kv-prod-weu.vault.azure.net/secrets/db-password/0123456789abcdef}}",
}
DESCRIPTIONS = ["Basic regression model on the diabetes data (version 2)", "Bearer token auth at the gateway",
                "sk-learn ridge, retrained 2024-06-01", "Scores rows; see https://example.com/docs?page=2"]
TAGS = {"Cost Center": "CC-4711", "app:tier": "scoring", "data-owner": "team-ä", "empty": "", "commit": "4f1c9d0e" * 5,
        "keyOwner": "ml-platform", "secretScope": "kv-prod-weu", "imageDigest": DIGEST, "tenantId": GUID}


def files() -> dict[str, str]:
    """Every file the corpus names, relative to the project root (written by make_valid_files)."""
    out = {f"valid/{n}": t for group in (ENTRY_SCRIPTS, REQUIREMENTS, CONDA_FILES) for n, t in group.items()}
    out["valid/batch-conda-defaults.yml"] = ("name: batch\ndependencies:\n  - python=3.11\n  - pip\n"
                                             "  - pip:\n    - azureml-defaults==1.60.0\n    - scikit-learn\n")
    out["valid/req-azureml-defaults.txt"] = "azureml-defaults==1.60.0\nscikit-learn==1.9.1\njoblib==1.6.0\n"
    out["valid/sample-request-list.json"] = "[[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]]\n"
    out["valid/sample-request-inputs.json"] = '{"Inputs": {"data": [[1.0]]}, "GlobalParameters": {"method": "predict"}}\n'
    out["valid/sample-request-bom.json"] = "\ufeff{\"data\": [[1, 2, 3]]}\r\n"
    # The same names in different objects (records), exponents and escapes: JSON by RFC 8259.
    out["valid/sample-request-records.json"] = ('{"data": [{"age": 0.03, "bmi": -1.5e-2}, {"age": 1E2, "bmi": 0}],'
                                                 ' "note": "caf\\u00e9 \\"NaN\\""}\n')
    out["valid/model-with-gitkeep/.gitkeep"] = ""
    out["valid/model-with-gitkeep/sklearn_regression_model.pkl"] = "a model's bytes\n"
    return out


def make_valid_files(project: Path) -> None:
    for path, text in files().items():
        target = project / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            target.write_text(text, encoding="utf-8", newline="")


def valid_cases() -> Iterator[Case]:
    def case(id_: str, klass: str, stack: str, edit: Callable[[dict], Any]) -> Case:
        d = _load(stack)
        edit(d["config"])
        return Case(id_, klass, stack, _dump(d), "")

    def image(**values: Any) -> Callable[[dict], Any]:
        return lambda c: c[IMG]["diabetes"].update(values)

    def requirements(path: str) -> Callable[[dict], Any]:
        return lambda c: (c[IMG]["diabetes"].pop("condaFile"), c[IMG]["diabetes"].update(requirementsFile=path))

    # -- entry-script signatures ---------------------------------------------------------------
    for name in ENTRY_SCRIPTS:
        if name.startswith("batch-"):
            continue
        yield case(f"dev-entry-{name}", "entry-script", "dev", image(entryScript=f"valid/{name}"))
    for name in ("batch-mini-batch-typed.py", "init-default-args.py", "crlf-bom.py", "guarded.py", "bound-methods.py"):
        yield case(f"batch-entry-{name}", "entry-script", "batch",
                   lambda c, v=name: c[B]["nightly"].update(entryScript=f"valid/{v}"))
    for name in ("sample-request-list.json", "sample-request-inputs.json", "sample-request-bom.json",
                 "sample-request-records.json"):
        yield case(f"dev-{name}", "entry-script", "dev", image(sampleRequest=f"valid/{name}"))

    # -- requirements and conda files ----------------------------------------------------------
    for name in REQUIREMENTS_NAMED:
        yield case(f"dev-{name.replace('/', '-')}", "environment", "dev", requirements(f"valid/{name}"))
    # A v2 endpoint's environment gets the `-r` includes inlined into its conda file.
    yield case("managed-req-up", "environment", "managed", requirements("valid/env/req-up.txt"))
    yield case("batch-req-up", "environment", "batch",
               lambda c: (c[B]["nightly"].pop("condaFile"), c[B]["nightly"].update(requirementsFile="valid/env/req-up.txt")))
    for name in CONDA_FILES:
        yield case(f"dev-{name}", "environment", "dev", image(condaFile=f"valid/{name}"))
    # pythonVersion picks python:<v>-slim (any the scorer host runs on); a baseImage of one's own alone.
    for version in ("3.9", "3.13"):
        yield case(f"dev-req-python-{version}", "environment", "dev", lambda c, v=version: (
            requirements("valid/req-extras-markers.txt")(c), c[IMG]["diabetes"].update(pythonVersion=v)))
    yield case("dev-req-own-base-image", "environment", "dev", lambda c: (
        requirements("valid/req-extras-markers.txt")(c), c[IMG]["diabetes"].update(baseImage="python:3.12-slim-bookworm")))
    yield case("batch-req-extras", "environment", "batch",
               lambda c: (c[B]["nightly"].pop("condaFile"), c[B]["nightly"].update(requirementsFile="valid/req-extras-markers.txt")))

    # -- values that look random but are no secret ---------------------------------------------
    for name, value in NOT_SECRETS.items():
        yield case(f"edge-env-{name}", "secrets", "edge", lambda c, n=name, v=value: c[E]["clinics"]["env"].update({n: v}))
        yield case(f"managed-env-{name}", "secrets", "managed",
                   lambda c, n=name, v=value: c[S]["diabetes"]["deployments"]["blue"].update(environmentVariables={n: v}))
    for name, value in SECRET_REFERENCES.items():
        yield case(f"managed-env-ref-{name}", "secrets", "managed",
                   lambda c, n=name, v=value: c[S]["diabetes"]["deployments"]["blue"].update(environmentVariables={n: v}))
        yield case(f"k8s-endpoint-env-ref-{name}", "secrets", "kubernetes-endpoint",
                   lambda c, n=name, v=value: c[S]["diabetes"]["deployments"]["green"].update(environmentVariables={n: v}))
    for i, text in enumerate(DESCRIPTIONS):
        yield case(f"dev-model-description-{i}", "secrets", "dev", lambda c, v=text: c[M]["diabetes"].update(description=v))
    yield case("dev-tags", "secrets", "dev", lambda c: c["mldeploy:tags"].update(TAGS))
    yield case("prod-model-tags", "secrets", "prod", lambda c: c[M]["diabetes"]["tags"].update(TAGS))
    yield case("edge-labels", "secrets", "edge", lambda c: c[E]["clinics"]["labels"].update(
        {"tokenizer": "bert-base-uncased", "digest": DIGEST, "tenant": GUID}))
    # a target condition of 8,000 characters (IoT Hub's query expressions: at most 8,192)
    yield case("edge-target-condition-8000", "names", "edge", lambda c: c[E]["clinics"].update(
        targetCondition="tags.model='diabetes' AND tags.environment='edge'" + " OR deviceId='d'" * 496))
    # every punctuation IoT Hub allows in a configuration label, and 128 characters
    yield case("edge-label-punctuation", "names", "edge", lambda c: c[E]["clinics"]["labels"].update(
        {"release": "v1.2-rc(3):a+b%c_d#e*f?g!h,i=j@k;l'm", "x" * 128: "y" * 128}))
    yield case("edge-cmd-flags", "secrets", "edge", lambda c: c[E]["clinics"].update(createOptions={
        "Cmd": ["--token-file", "/run/secrets/hf-token", "--max-tokens", "4096", "--api-key-env", "OPENAI_API_KEY"]}))

    # -- regions as Azure accepts them (case- and space-insensitive) ---------------------------
    for region in ("West Europe", "WestEurope", "WESTEUROPE", "westeurope", "East US 2", "eastus2", "Switzerland North"):
        yield case(f"prod-location-{region.replace(' ', '_')}", "region", "prod",
                   lambda c, v=region: c.update({"azure-native:location": v}))
    yield case("dev-location-west-us-3", "region", "dev", lambda c: c.update({"azure-native:location": "West US 3"}))

    # -- sovereign clouds and regions newer than the table (mldeploy:extraRegions) -------------
    for stack, cloud, region in (("prod", "usgovernment", "usgovvirginia"), ("dev", "usgovernment", "US Gov Arizona"),
                                 ("edge", "china", "chinanorth3"), ("prod", "china", "chinaeast2")):
        yield case(f"{stack}-cloud-{cloud}-{region.replace(' ', '_')}", "region", stack,
                   lambda c, e=cloud, r=region: c.update({"azure-native:environment": e, "azure-native:location": r}))
    yield case("dev-cloud-public-explicit", "region", "dev", lambda c: c.update({"azure-native:environment": "public"}))
    yield case("prod-extra-region", "region", "prod", lambda c: c.update(
        {"azure-native:location": "newzealandsouth", "mldeploy:extraRegions": ["newzealandsouth"]}))
    yield case("fpga-extra-region-in-fpga-regions", "region", "fpga", lambda c: (
        c.update({"azure-native:location": "eastus3", "mldeploy:extraRegions": ["eastus3"]}),
        c[S]["diabetes-fpga"].update(fpgaRegions=["eastus", "eastus3"])))

    # -- names with digits, namespaces, tags ---------------------------------------------------
    yield case("dev-names-with-digits", "names", "dev", lambda c: (
        c[S].update({"scoring-v2": c[S].pop("diabetes-aci")}),
        c[IMG].update({"diabetes-2024": c[IMG].pop("diabetes")}),
        c[S]["scoring-v2"].update(image="diabetes-2024"),
        c[M].update({"diabetes2": c[M].pop("diabetes")}),
        c[IMG]["diabetes-2024"].update(models=["diabetes2"])))
    yield case("dev-service-name-32", "names", "dev", lambda c: c[S].update({"s" + "1" * 30 + "z": c[S].pop("diabetes-aci")}))
    for ns in ("ml-team-2", "scoring", "a" * 63, "prod1"):
        yield case(f"prod-namespace-{ns[:12]}", "names", "prod", lambda c, v=ns: c[S]["diabetes"].update(namespace=v))
    yield case("prod-dns-label-digits", "names", "prod-attach", lambda c: c[S]["diabetes"].update(dnsLabel="scoring-2024-weu"))
    yield case("prod-attach-name-underscore", "names", "prod-attach",
               lambda c: c["mldeploy:clusters"]["shared"]["attach"].update(name="aks_platform_weu-01"))
    yield case("edge-module-name-underscore", "names", "edge", lambda c: c[E]["clinics"].update(moduleName="diabetes_v2"))
    yield case("dev-aci-dns-label", "names", "dev", lambda c: c[S]["diabetes-aci"].update(dnsNameLabel="diabetes-2024-dev"))

    # -- ports ---------------------------------------------------------------------------------
    for port in (1024, 8080, 65535):  # a local service binds 127.0.0.1 as the user: >= 1024 by design
        yield case(f"local-port-{port}", "ports", "local", lambda c, v=port: c[S]["diabetes"].update(port=v))
    yield case("edge-host-port-80", "ports", "edge", lambda c: c[E]["clinics"].update(port=5001, hostPort=80))
    yield case("edge-port-8080-no-host-port", "ports", "edge", lambda c: (c[E]["clinics"].pop("hostPort"),
                                                                          c[E]["clinics"].update(port=8080)))

    # -- createOptions shapes Docker accepts (Engine API ContainerCreate; IoT Edge passes them on) ---
    for label, options in (
        ("exposed-ports", {"ExposedPorts": {"5001/tcp": {}}}),
        # "HostPort": "" lets Docker pick a free port; a range "8000-8010" binds the first free one
        # (Docker's nat.ParsePortSpec, the `-p 8000-8010:5001` form).
        ("host-port-empty", {"HostConfig": {"PortBindings": {"5001/tcp": [{"HostPort": ""}]}}}),
        ("host-port-range", {"HostConfig": {"PortBindings": {"5001/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8000-8010"}]}}}),
        ("host-ip", {"HostConfig": {"PortBindings": {"5001/tcp": [{"HostIp": "0.0.0.0", "HostPort": "5001"}]}}}),
        ("port-no-protocol", {"HostConfig": {"PortBindings": {"5001": [{"HostPort": "5001"}]}}}),
        ("binds-devices", {"HostConfig": {"Binds": ["/data:/data:ro"], "Devices": [
            {"PathOnHost": "/dev/video0", "PathInContainer": "/dev/video0", "CgroupPermissions": "rwm"}],
            "Privileged": False, "Memory": 536870912, "NanoCpus": 1000000000,
            "LogConfig": {"Type": "json-file", "Config": {"max-size": "10m", "max-file": "3"}}}}),
        ("env-values", {"Env": ["A=b=c", "EMPTY=", "URL=https://example.com/?a=1&b=2"]}),
        ("user-workdir", {"User": "1000:1000", "WorkingDir": "/app", "Labels": {}, "Cmd": []}),
        ("healthcheck", {"Healthcheck": {"Test": ["CMD", "curl", "-f", "http://localhost:5001/"], "Interval": 30000000000}}),
    ):
        # The example's hostPort and env are set: a binding of the module's port to another host port,
        # or an Env list, would replace them (refused: tests/config/bad_stacks.py corpus4_cases), so
        # these shapes are tried without them - as a user who sets them in createOptions writes it.
        def edit(c: dict, v: dict = options) -> None:
            if "Env" in v:
                c[E]["clinics"].pop("env")
            if v.get("HostConfig", {}).get("PortBindings"):
                c[E]["clinics"].pop("hostPort")
            c[E]["clinics"].update(createOptions=v)
        yield case(f"edge-create-options-{label}", "createOptions", "edge", edit)
    # A binding that agrees with hostPort, and one of another port, beside the example's hostPort.
    yield case("edge-create-options-binding-agrees-with-host-port", "createOptions", "edge", lambda c: c[E]["clinics"].update(
        createOptions={"HostConfig": {"PortBindings": {"5001/tcp": [{"HostIp": "0.0.0.0", "HostPort": "5001"}]}}}))
    yield case("edge-create-options-binding-of-another-port", "createOptions", "edge", lambda c: c[E]["clinics"].update(
        createOptions={"ExposedPorts": {"9000/tcp": {}}, "HostConfig": {"PortBindings": {"9000/tcp": [{"HostPort": "9000"}]}}}))

    # -- CORS ----------------------------------------------------------------------------------
    for label, origins in (("localhost", ["http://localhost:3000", "http://127.0.0.1:5500"]),
                           ("port", ["https://app.example.com:8443"]), ("star", ["*"]),
                           ("many", [f"https://app{i}.example.com" for i in range(20)]),
                           ("punycode", ["https://xn--bcher-kva.example"])):
        yield case(f"dev-cors-{label}", "cors", "dev", lambda c, v=origins: c[S]["diabetes-aci"].update(cors={"allowedOrigins": v}))

    # -- sizes and counts Azure documents as valid ---------------------------------------------
    # error_threshold -1 ignores every failed item (the batch deployment YAML schema's default,
    # reference-yaml-deployment-batch.md).
    yield case("batch-error-threshold-minus-one", "sizes", "batch", lambda c: c[B]["nightly"].update(errorThreshold=-1))
    yield case("batch-mini-batch-1", "sizes", "batch", lambda c: c[B]["nightly"].update(miniBatchSize=1, maxRetries=0))
    yield case("edge-hub-s3-10", "sizes", "edge", lambda c: c[E]["clinics"]["iotHub"].update(sku="S3", capacity=10))
    yield case("edge-hub-f1-1", "sizes", "edge", lambda c: c[E]["clinics"]["iotHub"].update(sku="F1", capacity=1))
    yield case("dev-aci-4-16", "sizes", "dev", lambda c: c[S]["diabetes-aci"].update(cpuCores=4, memoryGb=16))
    # Above 4 CPUs / 16 GB up to the hard 31 / 240 (a "Big Container": synth warns that it needs a quota request)
    yield case("dev-aci-8-32", "sizes", "dev", lambda c: c[S]["diabetes-aci"].update(cpuCores=8, memoryGb=32))
    yield case("dev-aci-31-240", "sizes", "dev", lambda c: c[S]["diabetes-aci"].update(cpuCores=31, memoryGb=240))
    yield case("dev-aci-fraction", "sizes", "dev", lambda c: c[S]["diabetes-aci"].update(cpuCores=1.5, memoryGb=2.5))
    # ACI's least container group: "a minimum of 1 CPU and 1 GB of memory" (container-instances-container-groups.md).
    yield case("dev-aci-1-1", "sizes", "dev", lambda c: c[S]["diabetes-aci"].update(cpuCores=1, memoryGb=1))
    # Fractions above the minimum, in ACI's tenths ("accurate to one decimal place": targets/aci/settings.py).
    yield case("dev-aci-fractions-over-1", "sizes", "dev", lambda c: c[S]["diabetes-aci"].update(cpuCores=1.3, memoryGb=1.2))
    yield case("prod-vm-size-lowercase", "sizes", "prod",
               lambda c: c["mldeploy:clusters"]["prod"].update(vmSize="standard_d3_v2"))
    yield case("prod-kubernetes-patch", "sizes", "prod",
               lambda c: c["mldeploy:clusters"]["prod"].update(kubernetesVersion="1.35.2"))
    # A pod at exactly a node's memory (the VM's capacity: mldeploy/plan/vm_sizes.py MEMORY_GIB):
    # 13.75 GiB scorer + 128 MiB gateway + 128 MiB collector = 14 GiB, a Standard_D3_v2's.
    yield case("prod-pod-memory-at-node", "sizes", "prod", lambda c: c[S]["diabetes"].update(memoryGb=13.75))
    yield case("k8s-endpoint-instance-memory-at-node", "sizes", "kubernetes-endpoint",
               lambda c: c[S]["diabetes"]["deployments"]["blue"].update(memoryGb=16))
    # A policy of an existing hub may be any name (a custom least-privilege policy); a created hub
    # uses iothubowner (its only default policy with RegistryWrite and ServiceConnect).
    yield case("edge-existing-hub-custom-policy", "names", "edge", lambda c: (
        c[E]["clinics"]["iotHub"].pop("sku"), c[E]["clinics"]["iotHub"].update(existing=True, accessPolicy="mldeploy-deployer")))
    yield case("edge-created-hub-iothubowner", "names", "edge",
               lambda c: c[E]["clinics"]["iotHub"].update(accessPolicy="iothubowner"))
    # Kubernetes: successThreshold "Must be 1 for liveness and startup" - a readiness probe may ask for more.
    yield case("k8s-endpoint-readiness-success-3", "sizes", "kubernetes-endpoint",
               lambda c: c[S]["diabetes"]["deployments"]["blue"].update(readinessProbe={"successThreshold": 3},
                                                                        livenessProbe={"successThreshold": 1}))
    # IoT Edge routes (iot-edge/module-composition.md "Declare routes"): the module's own outputs and
    # inputs, any device message, a WHERE condition, $upstream or the module's own input as the sink.
    for i, route in enumerate(("FROM /messages/* WHERE NOT IS_DEFINED($connectionModuleId) INTO $upstream",
                               "FROM /messages/modules/diabetes/outputs/scores WHERE $body.value > 1 INTO "
                               'BrokeredEndpoint("/modules/diabetes/inputs/rescore")',
                               "FROM /messages/modules/diabetes/* INTO $upstream")):
        yield case(f"edge-route-{i}", "names", "edge", lambda c, v=route: c[E]["clinics"].update(routes={"r": v}))
    yield case("edge-route-of-module-name", "names", "edge", lambda c: c[E]["clinics"].update(
        moduleName="scorer", routes={"up": "FROM /messages/modules/scorer/outputs/* INTO $upstream"}))
    # Provider settings that are no secret (pulumi-azure-native's config: ids, paths, URLs, switches),
    # secrets as `secure:` values, and an app's own settings whose names point at a secret elsewhere.
    guid = "72f988bf-86f1-41af-91ab-2d7cd011db47"
    for key, value in (("azure-native:clientId", guid), ("azure-native:tenantId", guid),
                       ("azure-native:subscriptionId", guid), ("azure-native:auxiliaryTenantIds", [guid]),
                       ("azure-native:clientCertificatePath", "/home/ci/sp-cert.pfx"), ("azure-native:useOidc", True),
                       ("azure-native:oidcRequestUrl", "https://token.actions.githubusercontent.com"),
                       ("azure-native:msiEndpoint", "http://169.254.169.254/metadata/identity/oauth2/token"),
                       ("azure-native:clientSecret", {"secure": "v1:AAAAAAAAAAAAAAAA:Y2lwaGVydGV4dA=="}),
                       ("myapp:apiKeyName", "primary"), ("myapp:tokenAudience", "api://AzureADTokenExchange"),
                       ("myapp:maxTokens", "4096")):
        yield case(f"dev-{key.replace(':', '-')}", "secrets", "dev", lambda c, k=key, v=value: c.update({k: v}))
    yield case("prod-container-app-beside-aks-host-name", "names", "prod", lambda c: c[S].update(
        web={"target": "containerapp", "image": "diabetes", "minReplicas": 1, "customDomain": "web.ml.contoso.com"}))
    # Target conditions by tags, reported (or desired) properties, deviceId or capabilities.
    for i, condition in enumerate(("tags.environment IN ['prod', 'staging']", "deviceId IN ['clinic-1', 'clinic-2']",
                                   "properties.reported.lastStatus='200'", "capabilities.iotEdge = true AND tags.x = 1",
                                   "NOT IS_DEFINED(tags.retired)", "properties.desired.ring = 2")):
        yield case(f"edge-target-condition-{i}", "names", "edge",
                   lambda c, v=condition: c[E]["clinics"].update(targetCondition=v))
    yield case("fpga-regions-two", "region", "fpga", lambda c: c[S]["diabetes-fpga"].update(fpgaRegions=["eastus", "West US 2"]))
    yield case("edge-device-id-chars", "names", "edge", lambda c: (
        [c[E]["clinics"].pop(k) for k in ("targetCondition", "priority", "labels")],
        c[E]["clinics"].update(deviceId="clinic-7.eu:01_a")))
    yield case("managed-two-endpoints-digits", "names", "managed", lambda c: (
        c[S].update({"diabetes2": copy.deepcopy(c[S]["diabetes"])}), c.pop("mldeploy:endpointQuota")))

    # Reserved words (ARM's ReservedResourceName, error-reserved-resource-name.md) are refused as the whole
    # name, MICROSOFT/WINDOWS anywhere, LOGIN at the start only: these names hold them elsewhere.
    yield case("dev-aci-dns-name-label-azure-part", "names", "dev",
               lambda c: c[S]["diabetes-aci"].update(dnsNameLabel="azure-scoring"))
    yield case("prod-dns-label-login-later", "names", "prod", lambda c: c[S]["diabetes"].update(dnsLabel="scoring-login"))
    yield case("managed-endpoint-name-office-part", "names", "managed",
               lambda c: c[S]["diabetes"].update(endpointName="officehours-ep"))
    # ARM reserves the tag name prefixes microsoft, azure, windows (resources.json Tags_CreateOrUpdate): elsewhere
    # in a name they are fine, and model tags are Azure ML asset tags.
    yield case("dev-tag-azure-not-prefix", "names", "dev", lambda c: c["mldeploy:tags"].update({"team-azure": "x"}))
    yield case("dev-model-tag-azure-prefix", "names", "dev",
               lambda c: c[M]["diabetes"]["tags"].update({"azureml-source": "x"}))
    # A batch base image with conda (Azure ML builds the job's environment with it), and a private image of
    # the same short name (mldeploy cannot know what is inside it).
    for base in ("continuumio/miniconda3:24.1.2-0", "myregistry.azurecr.io/python:3.11"):
        yield case(f"batch-base-image-{base.split('/')[0].split(':')[0]}", "sizes", "batch",
                   lambda c, v=base: c[B]["nightly"].update(baseImage=v))
    # An image only v2 endpoints use may name an Azure ML base image of its own (another dated tag: plan/versions.py
    # DEFAULT_IMAGES); an edge runtime may be pinned to one release of a minor in the table.
    yield case("managed-image-own-azureml-base", "sizes", "managed", lambda c: c[IMG]["diabetes"].update(
        baseImage="mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20250701.v1"))
    yield case("edge-runtime-patch-release", "names", "edge", lambda c: c[E]["clinics"].update(runtimeVersion="1.6.3"))
    # An image only v2 endpoints use may name Azure's own Python; an image a v1 service also builds keeps baseImage.
    yield case("managed-image-python-version-azure", "sizes", "managed",
               lambda c: (c[IMG]["diabetes"].pop("condaFile"),
                          c[IMG]["diabetes"].update(requirementsFile="valid/env/req-up.txt", pythonVersion="3.11")))
    yield case("kubernetes-endpoint-image-also-aks", "sizes", "kubernetes-endpoint", lambda c: (
        c[IMG]["diabetes"].update(baseImage="mambaorg/micromamba:1.5.8"),
        c[S].update(web={"target": "aks", "cluster": "inference", "image": "diabetes", "namespace": "web"})))
    yield case("k8s-endpoint-ssl-cname", "names", "kubernetes-endpoint", lambda c: c[S]["diabetes"].update(
        sslCname="ml-router.contoso.com", tls={"certificate": {"secure": "v1:AAAAAAAAAAAAAAAA:Y2VydA=="},
                                               "key": {"secure": "v1:AAAAAAAAAAAAAAAA:a2V5"}}))
    yield case("dev-cors-same-host-two-ports", "cors", "dev", lambda c: c[S]["diabetes-aci"].update(
        cors={"allowedOrigins": ["https://app.example.com", "https://app.example.com:8443", "http://app.example.com"]}))
    # A sample request within the service's own maxRequestBodyMb.
    yield case("dev-aci-sample-within-body-limit", "sizes", "dev",
               lambda c: c[S]["diabetes-aci"].update(maxRequestBodyMb=0.001))


def cross_valid_cases() -> Iterator[Case]:
    """Next to helper h24cross's rules (tests/config/bad_stacks.py cross_cases): what they must let through."""
    def case(id_: str, klass: str, stack: str, edit: Callable[[dict], Any]) -> Case:
        d = _load(stack)
        edit(d["config"])
        return Case(id_, klass, stack, _dump(d), "")

    # A pod with the collector at exactly a D3_v2 node's allocatable CPU: 4 vCPUs less AKS's
    # kube-reserved 140m = 3.86 (3.51 + 0.25 + 0.1).
    yield case("prod-pod-cpu-with-collector-at-node", "sizes", "prod", lambda c: c[S]["diabetes"].update(cpuCores=3.51))
    # One existing hub named by two entries in the same resource group (written once, defaulted once).
    yield case("edge-existing-hub-one-group", "names", "edge", lambda c: (
        c[E]["clinics"]["iotHub"].pop("sku"), c[E]["clinics"]["iotHub"].update(existing=True),
        c[E].update(wards={**c[E]["clinics"], "targetCondition": "tags.ward='a'", "iotHub": {
            "name": c[E]["clinics"]["iotHub"]["name"], "existing": True, "resourceGroup": "rg-mldeploy-edge"}})))
    # A batch conda file with azureml-defaults (which installs azureml-core).
    yield case("batch-conda-azureml-defaults", "environment", "batch",
               lambda c: c[B]["nightly"].update(condaFile="valid/batch-conda-defaults.yml"))
    # Namespace `azureml` on a cluster without the Azure ML extension (no kubernetes-endpoint service on it).
    yield case("prod-namespace-azureml-without-extension", "names", "prod",
               lambda c: c[S]["diabetes"].update(namespace="azureml"))
    # A fixed size given by autoscaleMinReplicas alone (the guide's replicas without numReplicas).
    yield case("prod-attach-fixed-size-by-min-replicas", "sizes", "prod-attach", lambda c: (
        c[S]["diabetes"].update(autoscaleEnabled=False),
        [c[S]["diabetes"].pop(k) for k in ("autoscaleMaxReplicas", "autoscaleTargetUtilization")]))
    # One service's own gateway image from another registry (one source per mirror repository:tag), and
    # two services sharing one custom gateway image.
    yield case("prod-attach-own-gateway-image", "names", "prod-attach", lambda c: (
        c[S]["diabetes"].update(gatewayImage="mycorp.azurecr.io/nginx:1.27.4-alpine"),
        c[S].update(other={**c[S]["diabetes"], "namespace": "other"})))
    # A v2 endpoint's requirements with azureml-defaults (which installs the inference server); an image
    # mldeploy builds (ACI) without the server in its file (mldeploy adds it).
    yield case("managed-req-azureml-defaults", "environment", "managed", lambda c: (
        c[IMG]["diabetes"].pop("condaFile"), c[IMG]["diabetes"].update(requirementsFile="valid/req-azureml-defaults.txt")))
    yield case("dev-conda-without-server", "environment", "dev",
               lambda c: c[IMG]["diabetes"].update(condaFile="examples/diabetes/batch-env.yml"))
    # URLs whose query names no credential, a function URL without its key, a key=value list without a password.
    yield case("edge-env-urls-without-credentials", "secrets", "edge", lambda c: c[E]["clinics"]["env"].update({
        "DOCS_URL": "https://example.com/docs?page=2&section=password-reset", "SEARCH_URL": "https://example.com/s?q=token",
        "FN_URL": "https://fn.azurewebsites.net/api/score", "PG_OPTIONS": "host=db port=5432 dbname=scores sslmode=require",
        "CACHE_HOST": "cache.redis.cache.windows.net:6380,ssl=True,abortConnect=False"}))
    # Names near the image's own variables, and HMAC names that say what the value is not.
    yield case("edge-env-near-image-names", "secrets", "edge", lambda c: c[E]["clinics"]["env"].update(
        {"PYTHONPATH": "/var/azureml-app/lib", "MY_PATH": "/data", "HMAC_ALGORITHM": "sha256"}))


def all_valid_cases() -> list[Case]:
    cases = [*valid_cases(), *cross_valid_cases(), *h24b_valid_cases(), *h24b_more_valid_cases(), *hbad_valid_cases(),
             *hbad2_valid_cases()]
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    return cases
