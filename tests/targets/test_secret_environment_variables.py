"""A `secure:` environment variable of the scorer (`images.<name>.environmentVariables.<NAME>: {secure: ...}`,
the same on a service): each target that has a secret field passes it there - ACI `secureValue`, a
Kubernetes Secret read by `secretKeyRef` (AKS, FPGA), a Container Apps secret read by `secretRef`, the
local target's container as a Pulumi secret - and its value is nowhere in the synth output; IoT Edge and
the v2 endpoints refuse it with one error naming the key and what to use there instead."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mldeploy.config import ConfigError
from mldeploy.config.base import SecureValue
from tests.harness import ROOT, stack_values, synth

CIPHERTEXT = "v1:dGVzdC1jaXBoZXJ0ZXh0LWRiLXBhc3N3b3Jk"
VALUE = SecureValue(CIPHERTEXT).placeholder()  # what the program gets for it offline (Pulumi decrypts it in `up`)


def _with_secret(stack: str, on: str = "image"):
    values, secret_keys = stack_values(stack)
    if on == "image":
        for image in values["mldeploy:images"].values():
            image["environmentVariables"] = {"FEATURE_FLAG": "on", "DB_PASSWORD": SecureValue(CIPHERTEXT)}
        secret_keys.add("mldeploy:images")
    else:
        for service in values["mldeploy:services"].values():
            service["environmentVariables"] = {"DB_PASSWORD": SecureValue(CIPHERTEXT)}
        secret_keys.add("mldeploy:services")
    return values, secret_keys


def _no_plain_value(result, build: Path) -> None:
    assert not result.leaks, result.leaks
    assert VALUE not in json.dumps(result.resources, default=str), "the secret's value is in the resources"
    assert VALUE not in json.dumps(result.outputs, default=str), "the secret's value is in the outputs"
    for path in build.rglob("*"):
        if path.is_file():
            assert VALUE.encode() not in path.read_bytes(), f"the secret's value is in {path}"


def _scorer(containers):
    return next(c for c in containers if c["name"] == "scorer")


def _env(containers, key):
    return {e["name"]: e for e in _scorer(containers)[key]}


@pytest.mark.parametrize("on", ["image", "service"])
def test_aci_passes_it_as_a_secure_value(tmp_path, on):
    result = synth("dev", tmp_path, *_with_secret("dev", on))
    groups = result.of_type("azure-native:containerinstance:ContainerGroup")
    assert groups
    for group in groups:
        env = _env(group["inputs"]["containers"], "environmentVariables")
        assert set(env["DB_PASSWORD"]) == {"name", "secureValue"}, env["DB_PASSWORD"]
        assert env["DB_PASSWORD"]["secureValue"] == "[secret]", env["DB_PASSWORD"]
        if on == "image":
            assert env["FEATURE_FLAG"] == {"name": "FEATURE_FLAG", "value": "on"}
    _no_plain_value(result, tmp_path)


@pytest.mark.parametrize("stack", ["prod", "fpga"])
def test_kubernetes_reads_it_from_a_secret_by_secret_key_ref(tmp_path, stack):
    result = synth(stack, tmp_path, *_with_secret(stack))
    deployments = [d for d in result.of_type("kubernetes:apps/v1:Deployment")
                   if any(c["name"] == "scorer" for c in d["inputs"]["spec"]["template"]["spec"]["containers"])]
    assert deployments
    secrets = {s["name"]: s for s in result.of_type("kubernetes:core/v1:Secret") if s["name"].endswith("-env")}
    assert secrets, [s["name"] for s in result.of_type("kubernetes:core/v1:Secret")]
    for dep in deployments:
        env = _env(dep["inputs"]["spec"]["template"]["spec"]["containers"], "env")
        ref = env["DB_PASSWORD"]["valueFrom"]["secretKeyRef"]
        assert "value" not in env["DB_PASSWORD"] and ref["key"].endswith(".DB_PASSWORD"), env["DB_PASSWORD"]
    for secret in secrets.values():
        data = secret["inputs"]["stringData"]
        assert data and set(data.values()) == {"[secret]"}, data
    _no_plain_value(result, tmp_path)


def test_container_apps_reads_it_from_an_app_secret_by_secret_ref(tmp_path):
    result = synth("containerapp", tmp_path, *_with_secret("containerapp"))
    apps = result.of_type("azure-native:app:ContainerApp")
    assert apps
    for app in apps:
        env = _env(app["inputs"]["template"]["containers"], "env")
        assert env["DB_PASSWORD"] == {"name": "DB_PASSWORD", "secretRef": "env-db-password"}, env["DB_PASSWORD"]
    _no_plain_value(result, tmp_path)


@pytest.mark.parametrize("blue", ["labelled", "retired"])
def test_a_container_apps_secret_an_older_labelled_revision_reads_is_kept_until_its_label_goes(tmp_path, blue):
    """The example stack's blue label (image diabetes, 90 %) reads DB_PASSWORD; the new template (diabetes-v2)
    dropped it. Secrets are app-scope: dropping one a revision still serving reads is refused by Azure
    (targets/containerapp/plan.py kept_env_secrets), so it stays declared while blue is; gone once blue is."""
    values, secret_keys = stack_values("containerapp")
    values["mldeploy:images"]["diabetes"]["environmentVariables"] = {"DB_PASSWORD": SecureValue(CIPHERTEXT)}
    values["mldeploy:images"]["diabetes-v2"]["environmentVariables"] = {"API_TOKEN": SecureValue(CIPHERTEXT + "x")}
    secret_keys.add("mldeploy:images")
    if blue == "retired":
        values["mldeploy:services"]["diabetes-aca"]["revisions"] = {"green": {"image": "diabetes-v2",
                                                                              "trafficPercent": 100}}
    result = synth("containerapp", tmp_path, values, secret_keys)
    (app,) = result.of_type("azure-native:app:ContainerApp")
    secrets = {s["name"]: s["value"] for s in app["inputs"]["configuration"]["secrets"]}
    env = _env(app["inputs"]["template"]["containers"], "env")
    assert env["API_TOKEN"] == {"name": "API_TOKEN", "secretRef": "env-api-token"} and "DB_PASSWORD" not in env, env
    assert secrets["env-api-token"] == "[secret]", secrets
    if blue == "labelled":
        assert secrets["env-db-password"] == "[secret]", sorted(secrets)
    else:
        assert "env-db-password" not in secrets, sorted(secrets)
    _no_plain_value(result, tmp_path)


# Azure's rule for a Container Apps secret name (targets/containerapp/plan.py SECRET_NAME_MAX cites it).
CONTAINER_APPS_SECRET_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


def test_container_apps_secret_names_keep_azures_rule_for_any_variable_name(tmp_path):
    values, secret_keys = _with_secret("containerapp")
    long_name = "FEATURE_STORE_" + "X" * 60 + "_PASSWORD"  # 83 characters: env-<it> would be 87
    for image in values["mldeploy:images"].values():
        image["environmentVariables"].update({long_name: SecureValue(CIPHERTEXT), "API_TOKEN_": SecureValue(CIPHERTEXT)})
    result = synth("containerapp", tmp_path, values, secret_keys)
    apps = result.of_type("azure-native:app:ContainerApp")
    assert apps
    for app in apps:
        names = [s["name"] for s in app["inputs"]["configuration"]["secrets"]]
        assert len(names) == len(set(names)), names
        for name in names:
            assert CONTAINER_APPS_SECRET_NAME.fullmatch(name) and len(name) <= 63, f"secret name {name!r}"
        env = _env(app["inputs"]["template"]["containers"], "env")
        for variable in (long_name, "API_TOKEN_", "DB_PASSWORD"):
            assert env[variable]["secretRef"] in names, env[variable]
    _no_plain_value(result, tmp_path)


@pytest.mark.parametrize("image_name, service_name", [("Db_Pass", "DB_PASS"), ("DB_PASS", "DB_PASS_"),
                                                      ("db_pass", "_DB_PASS")])
def test_two_variables_one_container_apps_secret_name_would_hold_are_refused_naming_both(image_name, service_name):
    values, secret_keys = stack_values("containerapp")
    for image in values["mldeploy:images"].values():
        image["environmentVariables"] = {image_name: SecureValue(CIPHERTEXT)}
    for service in values["mldeploy:services"].values():
        service["environmentVariables"] = {service_name: SecureValue(CIPHERTEXT)}
    secret_keys |= {"mldeploy:images", "mldeploy:services"}
    err = _load("containerapp", values, secret_keys)
    assert err.key == f"mldeploy:services.diabetes-aca.environmentVariables.{service_name}", err
    assert f"environmentVariables.{image_name}" in err.message and "'env-db-pass'" in err.message, err
    assert "rename one" in err.message, err


@pytest.mark.parametrize("blue_name", ["DB_PASSWORD", "Db_Password"])
def test_two_labels_images_giving_one_secure_variable_two_values_are_refused_naming_both_keys(blue_name):
    """Blue's image (diabetes) and green's, the template's (diabetes-v2), set DB_PASSWORD under two keys with
    two values: Container Apps keeps one app secret per name (env-db-password) and blue's revision would read
    green's value from its next replica on. The stack file tells them apart (two keys, two ciphertexts):
    refused at load, naming the template's key, the other, and what to do. Before: documented only."""
    values, secret_keys = stack_values("containerapp")
    values["mldeploy:images"]["diabetes"]["environmentVariables"] = {blue_name: SecureValue(CIPHERTEXT)}
    values["mldeploy:images"]["diabetes-v2"]["environmentVariables"] = {"DB_PASSWORD": SecureValue(CIPHERTEXT + "x")}
    secret_keys.add("mldeploy:images")
    err = _load("containerapp", values, secret_keys)
    assert err.key == "mldeploy:images.diabetes-v2.environmentVariables.DB_PASSWORD", err
    assert f"mldeploy:images.diabetes.environmentVariables.{blue_name} (revision blue's)" in err.message, err
    assert "'env-db-password'" in err.message and "a variable name of its own" in err.message, err
    assert "mldeploy:services.diabetes-aca.environmentVariables" in err.message, err
    assert CIPHERTEXT not in str(err) and VALUE not in str(err), err


@pytest.mark.parametrize("how", ["same-text", "on-the-service", "retired"])
def test_one_secure_value_for_every_label_or_one_label_is_no_clash(how):
    """The same `secure:` text under both images' keys (a copied image entry), the variable once on the service,
    or the older label retired: one value per app secret, loaded as before."""
    from mldeploy.targets.stack import parse_settings

    values, secret_keys = stack_values("containerapp")
    images, service = values["mldeploy:images"], values["mldeploy:services"]["diabetes-aca"]
    if how == "on-the-service":
        service["environmentVariables"] = {"DB_PASSWORD": SecureValue(CIPHERTEXT)}
        secret_keys.add("mldeploy:services")
    else:
        images["diabetes"]["environmentVariables"] = {"DB_PASSWORD": SecureValue(CIPHERTEXT)}
        images["diabetes-v2"]["environmentVariables"] = {
            "DB_PASSWORD": SecureValue(CIPHERTEXT if how == "same-text" else CIPHERTEXT + "x")}
        secret_keys.add("mldeploy:images")
    if how == "retired":
        service["revisions"] = {"green": {"image": "diabetes-v2", "trafficPercent": 100}}
    parse_settings("containerapp", values, secret_keys, ROOT, "stacks/Pulumi.containerapp.yaml")


def test_a_plain_variable_beside_a_secure_one_of_the_same_secret_name_is_no_clash():
    values, secret_keys = stack_values("containerapp")
    for service in values["mldeploy:services"].values():
        service["environmentVariables"] = {"Feature_Flag": SecureValue(CIPHERTEXT), "FEATURE_FLAG": "on"}
    secret_keys.add("mldeploy:services")
    from mldeploy.targets.stack import parse_settings
    parse_settings("containerapp", values, secret_keys, ROOT, "stacks/Pulumi.containerapp.yaml")


def test_the_local_targets_container_gets_it_as_a_secret(tmp_path):
    result = synth("local", tmp_path, *_with_secret("local"))
    scorers = [c for c in result.of_type("docker:index/container:Container") if c["name"].endswith("-scorer")]
    assert scorers
    for c in scorers:
        assert "DB_PASSWORD=[secret]" in c["inputs"]["envs"], c["inputs"]["envs"]
    _no_plain_value(result, tmp_path)


@pytest.mark.parametrize("change", ["value", "new-variable"])
def test_a_changed_secret_shows_in_mldeploy_diff_as_the_new_name_its_deployment_reads(tmp_path, change):
    """A Secret whose data changes is replaced under a new name by pulumi-kubernetes (synth/provider_ids.py):
    the diff must not show the Deployment reading the old name (it did: the name never changed in synth)."""
    from mldeploy.cli.diffing import Side, compare

    def side(label, env):
        values, secret_keys = stack_values("prod")
        for image in values["mldeploy:images"].values():
            image["environmentVariables"] = {k: SecureValue(v) for k, v in env.items()}
        secret_keys.add("mldeploy:images")
        result = synth("prod", tmp_path / label, values, secret_keys)
        return Side(label, result.resources, result.outputs)

    base = side("base", {"DB_PASSWORD": CIPHERTEXT})
    head = side("head", {"DB_PASSWORD": CIPHERTEXT + "x"} if change == "value"
                else {"DB_PASSWORD": CIPHERTEXT, "API_TOKEN": CIPHERTEXT + "y"})
    d = compare("prod", base, head)
    refs = {p.path: (p.before, p.after) for c in d.changes if c.type == "kubernetes:apps/v1:Deployment"
            for p in c.properties if p.path.endswith("env[DB_PASSWORD].valueFrom.secretKeyRef.name")}
    assert refs, [(c.kind, c.name, [p.path for p in c.properties]) for c in d.changes]
    for before, after in refs.values():
        assert before != after and before.startswith("diabetes-env-") and after.startswith("diabetes-env-"), refs
    if change == "new-variable":
        assert [c.kind for c in d.changes if c.type == "kubernetes:core/v1:Secret"] == ["replace"], d.changes


def _load(stack, values, secret_keys):
    from mldeploy.targets.stack import parse_settings
    with pytest.raises(ConfigError) as info:
        parse_settings(stack, values, secret_keys, ROOT, f"stacks/Pulumi.{stack}.yaml")
    err = info.value
    assert "\n" not in str(err) and err.source == f"stacks/Pulumi.{stack}.yaml", err
    return err


@pytest.mark.parametrize("stack, instead", [
    ("edge", "createOptions"), ("managed", "${{keyvault:"), ("kubernetes-endpoint", "${{keyvault:")])
def test_a_target_that_would_write_it_as_plain_text_refuses_it(stack, instead):
    err = _load(stack, *_with_secret(stack))
    assert err.key.startswith("mldeploy:images.") and err.key.endswith(".environmentVariables.DB_PASSWORD"), err
    able = err.message.split("runs only on the targets ", 1)[1].split(", not on ", 1)[0]
    assert sorted(able.split(", ")) == ["aci", "aks", "containerapp", "fpga", "local"], err
    assert instead in err.message, err
    assert VALUE not in str(err) and CIPHERTEXT not in str(err)


def test_another_mapping_is_refused_naming_the_secure_form():
    values, secret_keys = stack_values("dev")
    values["mldeploy:images"]["diabetes"]["environmentVariables"] = {"DB_PASSWORD": {"vault": "x"}}
    err = _load("dev", values, secret_keys)
    assert err.key == "mldeploy:images.diabetes.environmentVariables.DB_PASSWORD", err
    assert ("a value is a string, or a secret written by `pulumi config set --secret --path "
            "'mldeploy:images.diabetes.environmentVariables.DB_PASSWORD' <value>`") in err.message, err
    assert "{secure: <ciphertext>}" in err.message, err


def test_serve_takes_its_value_from_its_own_environment_and_refuses_without():
    from mldeploy.config.base import Secret
    from mldeploy.plan.secret_env import serve_environment
    env = (("DB_PASSWORD", Secret(VALUE)), ("FEATURE_FLAG", "on"))
    assert serve_environment(env, "diabetes", {"DB_PASSWORD": "from-the-shell"}) == {
        "DB_PASSWORD": "from-the-shell", "FEATURE_FLAG": "on"}
    with pytest.raises(ValueError) as info:
        serve_environment(env, "diabetes", {})
    assert "environmentVariables.DB_PASSWORD" in str(info.value) and "export DB_PASSWORD" in str(info.value)
    assert VALUE not in str(info.value)


def test_a_local_server_refuses_to_start_without_the_value(tmp_path, monkeypatch):
    from mldeploy.config.base import Secret
    from mldeploy.runtime import local
    from mldeploy.runtime.processes import StartError
    monkeypatch.delenv("DB_PASSWORD", raising=False)
    server = local.LocalServer.__new__(local.LocalServer)
    server.name = "diabetes"
    server.plan = type("Plan", (), {"environment": (("DB_PASSWORD", Secret(VALUE)),)})()
    with pytest.raises(StartError, match="export DB_PASSWORD"):
        server._environment()
    monkeypatch.setenv("DB_PASSWORD", "s3cret-from-shell")
    assert server._environment() == {"DB_PASSWORD": "s3cret-from-shell"}


def test_the_whole_synth_output_folder_holds_no_value_and_serve_containers_reads_it_from_its_shell(tmp_path,
                                                                                                   monkeypatch):
    from mldeploy.runtime import synthesized_pod as sp
    from tests.containers.synthesized import synth_to
    out = synth_to("prod", tmp_path / "synth", _with_secret("prod")[0])
    files = [p for p in out.rglob("*") if p.is_file()]
    assert any(p.name == "resources.json" for p in files), files
    for path in files:
        data = path.read_bytes()
        assert VALUE.encode() not in data and CIPHERTEXT.encode() not in data, f"the secret is in {path}"
    namespace = next(p.name for p in (out / "k8s").iterdir() if p.is_dir() and not p.name.startswith("_"))
    deployment = next(name for kind, name in sp.load_objects(out, namespace) if kind == "Deployment")
    monkeypatch.delenv("DB_PASSWORD", raising=False)
    with pytest.raises(sp.PodSourceError, match="DB_PASSWORD is a `secure:` value"):
        sp.synthesized_pod(out, namespace, deployment, lambda ref: ref)
    monkeypatch.setenv("DB_PASSWORD", "typed-in-the-shell")
    pod = sp.synthesized_pod(out, namespace, deployment, lambda ref: ref)
    assert "typed-in-the-shell" in [v for data in pod.inputs.secrets.values() for v in data.values()]


def test_serve_containers_env_file_names_a_value_from_its_shell_without_writing_it(monkeypatch):
    from mldeploy.runtime.pod import env_file_text
    monkeypatch.setenv("DB_PASSWORD", "typed-in-the-shell")
    assert env_file_text({"DB_PASSWORD": "typed-in-the-shell", "LOG_LEVEL": "debug"}) == "DB_PASSWORD\nLOG_LEVEL=debug\n"
