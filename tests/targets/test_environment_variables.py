"""`environmentVariables` of an image (every target it runs on) and of a service (over its image's):
refused where mldeploy sets the name, the name is not portable, the value is no string or a
credential; and rendered into each target's scorer container as synth writes it."""
from __future__ import annotations

import json

import pytest

from tests.config.test_load import dev, expect_error, parse
from tests.harness import stack_values, synth

IMAGE_ENV = {"FEATURE_FLAG": "on", "LOG_LEVEL": "info"}


def _image_env(values, env):
    values["mldeploy:images"]["diabetes"]["environmentVariables"] = env
    return values


def _service_env(values, env):
    values["mldeploy:services"]["diabetes-aci"]["environmentVariables"] = env
    return values


def test_an_images_and_a_services_variables_parse():
    settings = parse(_service_env(_image_env(dev(), IMAGE_ENV), {"LOG_LEVEL": "debug"}))
    assert settings.images["diabetes"].environment_variables == IMAGE_ENV
    assert settings.services["diabetes-aci"].environment_variables == {"LOG_LEVEL": "debug"}


@pytest.mark.parametrize("name, fragment", [
    ("WORKER_COUNT", "set by mldeploy from workerCount"),
    ("SCORING_TIMEOUT_MS", "set by mldeploy from scoringTimeoutMs"),
    ("worker_timeout", "set by mldeploy from scoringTimeoutMs"),  # the name whatever its case
    ("AML_APP_INSIGHTS_KEY", "set by mldeploy from appInsightsEnabled"),
    ("APPLICATIONINSIGHTS_CONNECTION_STRING", "set by mldeploy from appInsightsEnabled"),
    ("HOME", "set by mldeploy"),
    ("AZUREML_MODEL_DIR", "names starting AZUREML_, MLDEPLOY_, IOTEDGE_"),
    ("MLDEPLOY_BATCH_MAX_SIZE", "names starting AZUREML_, MLDEPLOY_, IOTEDGE_"),
    ("AML_APP_ROOT", "would replace the scoring image's own"),
    ("PATH", "would replace the scoring image's own"),
    ("LOG-LEVEL", "letters, digits and '_'"),
    ("1FLAG", "letters, digits and '_'"),
])
@pytest.mark.parametrize("where", ["images.diabetes", "services.diabetes-aci"])
def test_a_name_mldeploy_sets_or_no_target_takes_is_refused(where, name, fragment):
    values = dev()
    section, entry = where.split(".")
    values[f"mldeploy:{section}"][entry]["environmentVariables"] = {name: "1"}
    expect_error(values, f"mldeploy:{where}.environmentVariables.{name}", repr(name), fragment)


@pytest.mark.parametrize("value, fragment", [
    (4, "'OMP_NUM_THREADS' is 4, which YAML reads as a number: values are strings; quote it (OMP_NUM_THREADS: \"4\")"),
    (0.5, "quote it (OMP_NUM_THREADS: \"0.5\")"),
    (True, "'OMP_NUM_THREADS' is true, which YAML reads as a boolean"),
])
def test_a_number_or_boolean_is_refused_with_its_quoted_spelling(value, fragment):
    expect_error(_image_env(dev(), {"OMP_NUM_THREADS": value}),
                 "mldeploy:images.diabetes.environmentVariables.OMP_NUM_THREADS", fragment)


@pytest.mark.parametrize("value, fragment", [(["a"], "must be a valid string (got a list)"), (None, "has no value")])
def test_a_list_or_null_is_refused(value, fragment):
    expect_error(_image_env(dev(), {"OMP_NUM_THREADS": value}),
                 "mldeploy:images.diabetes.environmentVariables.OMP_NUM_THREADS", fragment)


@pytest.mark.parametrize("name, value", [
    ("DB_PASSWORD", "hunter2hunter2"),
    ("OPENAI_API_KEY", "sk-abcdefghijklmnopqrstuvwxyz123456"),
    ("STORAGE_CONNECTION_STRING", "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=abc=="),
    ("HF_TOKEN", "hf_abcdefghijklmnopqrstuvwxyz"),
    ("CLIENT_SECRET", "abc123def"),
])
def test_a_secret_is_refused_with_where_secrets_go(name, value):
    key = f"mldeploy:services.diabetes-aci.environmentVariables.{name}"
    err = expect_error(_service_env(dev(), {name: value}), key, repr(name), "plain text", "Key Vault",
                       "${{keyvault:", f"pulumi config set --secret --path '{key}' <value>")
    assert value not in str(err), f"the error repeats the secret: {err}"


def test_the_thread_counts_a_user_wants_are_accepted():
    # The scorer host sets each math library's threads only where the environment does not (scorer_host.py).
    parse(_image_env(dev(), {"OMP_NUM_THREADS": "4", "MKL_NUM_THREADS": "4"}))


def test_a_batch_jobs_variables_are_checked_alike():
    values = stack_values("batch")[0]
    values["mldeploy:batch"]["nightly"]["environmentVariables"] = {"AZUREML_MODEL_DIR": "/tmp"}
    from mldeploy.config import ConfigError, parse_settings
    from mldeploy.targets.stack import SECTION_MODELS, SERVICE_MODELS
    from tests.harness import ROOT
    with pytest.raises(ConfigError) as info:
        parse_settings("batch", values, set(), ROOT, "stacks/Pulumi.batch.yaml", SERVICE_MODELS, SECTION_MODELS)
    assert info.value.key == "mldeploy:batch.nightly.environmentVariables.AZUREML_MODEL_DIR", info.value


# -- every target's synthesized scorer -------------------------------------------------------------

def _with_env(stack: str):
    """The stack with IMAGE_ENV on every image and LOG_LEVEL=debug on every service, deployment, edge
    entry (its `env`) and batch entry: each target's scorer must run FEATURE_FLAG=on and LOG_LEVEL=debug."""
    values, secrets = stack_values(stack)
    for image in values.get("mldeploy:images", {}).values():
        image["environmentVariables"] = dict(IMAGE_ENV)
    for service in values.get("mldeploy:services", {}).values():
        for dep in service.get("deployments", {}).values():
            dep.setdefault("environmentVariables", {})["LOG_LEVEL"] = "debug"
        if "deployments" not in service:
            service["environmentVariables"] = {"LOG_LEVEL": "debug"}
    for entry in values.get("mldeploy:edge", {}).values():
        entry.setdefault("env", {})["LOG_LEVEL"] = "debug"
    for entry in values.get("mldeploy:batch", {}).values():
        entry["environmentVariables"] = {"FEATURE_FLAG": "on", "LOG_LEVEL": "debug"}
    return values, secrets


def _named(env: list[dict]) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in env}


def _scorer(containers: list[dict]) -> dict:
    return next(c for c in containers if c["name"] == "scorer")


def _aci(r):
    return [_named(_scorer(g["inputs"]["containers"])["environmentVariables"])
            for g in r.of_type("azure-native:containerinstance:ContainerGroup")]


def _kubernetes(r):
    return [_named(_scorer(d["inputs"]["spec"]["template"]["spec"]["containers"])["env"])
            for d in r.of_type("kubernetes:apps/v1:Deployment")
            if any(c["name"] == "scorer" for c in d["inputs"]["spec"]["template"]["spec"]["containers"])]


def _containerapp(r):
    return [_named(_scorer(a["inputs"]["template"]["containers"])["env"])
            for a in r.of_type("azure-native:app:ContainerApp")]


def _online(r):
    return [d["inputs"]["properties"]["environmentVariables"]
            for d in r.of_type("azure-native:machinelearningservices:OnlineDeployment")]


def _batch(r):
    return [d["inputs"]["properties"]["environmentVariables"]
            for d in r.of_type("azure-native:machinelearningservices:BatchDeployment")]


def _local(r):
    return [dict(e.split("=", 1) for e in c["inputs"]["envs"])
            for c in r.of_type("docker:index/container:Container") if c["name"].endswith("-scorer")]


def _create_options(node) -> list[str]:
    """Every module's createOptions text in a manifest (any depth)."""
    if isinstance(node, dict):
        settings = node.get("settings")
        own = [settings["createOptions"]] if isinstance(settings, dict) and "createOptions" in settings else []
        return own + [o for v in node.values() for o in _create_options(v)]
    if isinstance(node, list):
        return [o for v in node for o in _create_options(v)]
    return []


def _edge(r):
    return [dict(e.split("=", 1) for e in json.loads(options)["Env"])
            for d in r.of_type("pulumi-python:dynamic/iotedge:Deployment")
            for options in _create_options(d["inputs"]) if "Env" in options]


@pytest.mark.parametrize("stack, scorers", [
    ("dev", _aci), ("prod", _kubernetes), ("fpga", _kubernetes), ("containerapp", _containerapp),
    ("managed", _online), ("kubernetes-endpoint", _online), ("local", _local), ("edge", _edge), ("batch", _batch),
])
def test_every_targets_scorer_runs_the_images_variables_under_the_services(tmp_path, stack, scorers):
    values, secrets = _with_env(stack)
    envs = scorers(synth(stack, tmp_path, values, secrets))
    assert envs, f"{stack}: no scorer found in the synthesized resources"
    for env in envs:
        assert env.get("FEATURE_FLAG") == "on", f"{stack}: the image's FEATURE_FLAG missing from {env}"
        assert env.get("LOG_LEVEL") == "debug", f"{stack}: the service's LOG_LEVEL must win over the image's: {env}"


def test_an_edge_modules_env_with_its_images_must_fit_create_options():
    from mldeploy.config import ConfigError, parse_settings
    from mldeploy.targets.stack import SECTION_MODELS, SERVICE_MODELS, check_stack
    from tests.harness import ROOT
    values = stack_values("edge")[0]
    image = values["mldeploy:edge"]["clinics"]["image"]
    values["mldeploy:images"][image]["environmentVariables"] = {f"SETTING_{i}": "x" * 200 for i in range(30)}
    settings = parse_settings("edge", values, set(), ROOT, "stacks/Pulumi.edge.yaml", SERVICE_MODELS, SECTION_MODELS)
    with pytest.raises(ConfigError) as info:
        check_stack(settings, ROOT, values)
    assert info.value.key == "mldeploy:edge.clinics.env", info.value
    assert f"images.{image}.environmentVariables" in info.value.message and "4096" in info.value.message, info.value


# -- every mapping's errors name the key the user wrote ------------------------------------------------

# (stack, the mapping's key without `mldeploy:`, where it sits in the stack values)
MAPPINGS = [
    ("dev", "images.diabetes.environmentVariables", ("mldeploy:images", "diabetes", "environmentVariables")),
    ("dev", "services.diabetes-aci.environmentVariables", ("mldeploy:services", "diabetes-aci", "environmentVariables")),
    ("prod", "images.diabetes.environmentVariables", ("mldeploy:images", "diabetes", "environmentVariables")),
    ("batch", "batch.nightly.environmentVariables", ("mldeploy:batch", "nightly", "environmentVariables")),
    ("managed", "services.diabetes.deployments.blue.environmentVariables",
     ("mldeploy:services", "diabetes", "deployments", "blue", "environmentVariables")),
    ("kubernetes-endpoint", "services.diabetes.deployments.blue.environmentVariables",
     ("mldeploy:services", "diabetes", "deployments", "blue", "environmentVariables")),
    ("edge", "edge.clinics.env", ("mldeploy:edge", "clinics", "env")),
]


def _load_error(stack, path, env):
    from mldeploy.config import ConfigError
    from mldeploy.targets.stack import parse_settings
    from tests.harness import ROOT
    values, secret_keys = stack_values(stack)
    node = values
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = env
    secret_keys.add(path[0])
    with pytest.raises(ConfigError) as info:
        parse_settings(stack, values, secret_keys, ROOT, f"stacks/Pulumi.{stack}.yaml")
    err = info.value
    assert err.source == f"stacks/Pulumi.{stack}.yaml" and "\n" not in str(err), err
    return err


@pytest.mark.parametrize("env", [{"OMP_NUM_THREADS": 4}, {"LOG-LEVEL": "debug"}, {"PATH": "/usr/bin"},
                                 {"OMP_NUM_THREADS": ["4"]}, {"DB_PASSWORD": "hunter2hunter2"}],
                         ids=["number", "bad-name", "image-name", "list", "plain-secret"])
@pytest.mark.parametrize("stack, key, path", MAPPINGS, ids=[f"{m[0]}-{m[1].split('.')[0]}" for m in MAPPINGS])
def test_an_errors_key_is_the_variable_under_the_mapping_the_user_wrote(stack, key, path, env):
    err = _load_error(stack, path, env)
    (name,) = env
    assert err.key == f"mldeploy:{key}.{name}", err
    # A hint naming a key names this one, never another section's (an image's secret said services.<name>).
    for other in ("images.", "services.", "batch.", "edge."):
        if not key.startswith(other):
            assert f"'mldeploy:{other}" not in err.message, err


def test_an_images_plain_secret_hint_names_the_images_key():
    err = _load_error("dev", ("mldeploy:images", "diabetes", "environmentVariables"), {"DB_PASSWORD": "hunter2hunter2"})
    assert ("pulumi config set --secret --path 'mldeploy:images.diabetes.environmentVariables.DB_PASSWORD' <value>"
            in err.message), err
    assert "hunter2hunter2" not in str(err)


@pytest.mark.parametrize("stack, key, path, fragments", [
    ("batch", "batch.nightly.environmentVariables", ("mldeploy:batch", "nightly", "environmentVariables"),
     ("batch deployment", "Key Vault", "how-to-use-secrets-in-runs")),
    ("managed", "services.diabetes.deployments.blue.environmentVariables",
     ("mldeploy:services", "diabetes", "deployments", "blue", "environmentVariables"), ("${{keyvault:",)),
    ("edge", "edge.clinics.env", ("mldeploy:edge", "clinics", "env"), ("createOptions",)),
])
@pytest.mark.parametrize("how", ["stack-file", "pulumi-cli"])
def test_a_secure_value_where_the_target_keeps_no_secret_is_refused_naming_why(stack, key, path, fragments, how):
    from mldeploy.config.base import Secret, SecureValue
    ciphertext = "v1:dGVzdC1jaXBoZXJ0ZXh0LWJhdGNo"
    # synth reads the stack file's `secure:` leaf; under `pulumi up` it arrives decrypted and marked (load.py).
    value = SecureValue(ciphertext) if how == "stack-file" else Secret("decrypted-value-0123456789")
    err = _load_error(stack, path, {"DB_PASSWORD": value})
    assert err.key == f"mldeploy:{key}.DB_PASSWORD", err
    assert "`secure:` value" in err.message and "valid string" not in err.message, err
    for fragment in fragments:
        assert fragment in err.message, err
    assert ciphertext not in str(err) and "decrypted-value" not in str(err)
