"""mldeploy/runtime/containers.py without an engine: image names as users write them, the podman
settings mldeploy applies (and when it leaves the user's alone), the hint on a refused setting."""
from __future__ import annotations

import pytest

from mldeploy.runtime import containers
from mldeploy.runtime.containers import (PODMAN_SETTINGS, Engine, EngineError, image_map_lookup, normalize_ref,
                                         podman_settings_env)
from mldeploy.runtime.synthesized_pod import base_images

NGINX = "nginx:1.27.4-alpine@sha256:4ff102c5d78d254a6f0da062b3cf39eaf07f01eec0927fd21e219d0af8bc0591"


@pytest.mark.parametrize("ref, full", [
    ("nginx:1.27.4-alpine", "docker.io/library/nginx:1.27.4-alpine"),
    (NGINX, "docker.io/library/" + NGINX),
    ("mambaorg/micromamba:1.5.10-jammy", "docker.io/mambaorg/micromamba:1.5.10-jammy"),
    ("docker.io/library/python:3.11-slim", "docker.io/library/python:3.11-slim"),
    ("myacr.azurecr.io/mirror/nginx@sha256:abc", "myacr.azurecr.io/mirror/nginx@sha256:abc"),
    ("localhost/mldeploy/iris:1", "localhost/mldeploy/iris:1"),
    ("registry:5000/app", "registry:5000/app"),
])
def test_references_normalize_as_docker_reads_them(ref, full):
    assert normalize_ref(ref) == full


@pytest.mark.parametrize("given", [NGINX, "docker.io/library/" + NGINX, "nginx:1.27.4-alpine",
                                   "docker.io/library/nginx:1.27.4-alpine", "library/nginx:1.27.4-alpine"])
def test_image_accepts_the_name_however_it_is_printed(given):
    assert image_map_lookup({given: "local/nginx:standin"}, NGINX) == "local/nginx:standin"


def test_image_does_not_match_another_tag_or_digest():
    assert image_map_lookup({"nginx:1.27.5-alpine": "x"}, NGINX) is None
    assert image_map_lookup({"nginx:1.27.4-alpine@sha256:" + "0" * 64: "x"}, NGINX) is None


def test_podman_gets_mldeploy_s_settings_only_when_it_has_none(monkeypatch, tmp_path):
    monkeypatch.setattr(containers, "PODMAN_USER_CONFS", (tmp_path / "etc.conf", tmp_path / "home.conf"))
    monkeypatch.setattr(containers, "RUNC_PATHS", (str(tmp_path / "runc"),))
    (tmp_path / "runc").write_text("")
    assert podman_settings_env({}) == (("CONTAINERS_CONF", str(PODMAN_SETTINGS)),)
    assert podman_settings_env({"CONTAINERS_CONF": "/mine.conf"}) == (), "the user's CONTAINERS_CONF wins"
    (tmp_path / "home.conf").write_text("[engine]\n")
    assert podman_settings_env({}) == (), "a containers.conf of the user's wins"
    (tmp_path / "home.conf").unlink()
    (tmp_path / "runc").unlink()
    assert podman_settings_env({}) == (), "without runc the settings would break podman: left alone"


def test_the_packaged_settings_are_those_measured_on_this_kind_of_machine():
    import tomllib

    conf = tomllib.loads(PODMAN_SETTINGS.read_text())
    assert conf["engine"]["runtime"] == "runc" and conf["engine"]["cgroup_manager"] == "cgroupfs"
    assert conf["engine"]["events_logger"] == "file"
    assert conf["containers"]["default_ulimits"] == ["nofile=4096:4096", "nproc=4096:4096"]


def test_a_refused_container_setting_names_the_settings(tmp_path):
    fake = tmp_path / "podman"
    fake.write_text("#!/bin/sh\necho 'Error: runc: runc create failed: unable to start container process: error "
                    "during container init: error setting rlimits for ready process: error setting rlimit type 7: "
                    "operation not permitted: OCI permission denied' >&2\nexit 126\n")
    fake.chmod(0o755)
    with pytest.raises(EngineError) as err:
        Engine("podman", str(fake)).run("run", "--rm", "x")
    message = str(err.value)
    assert "rlimit type 7" in message and "runtime runc" in message and "default_ulimits" in message
    assert str(PODMAN_SETTINGS) in message and "CONTAINERS_CONF" in message


def test_base_images_are_read_from_the_from_lines(tmp_path):
    (tmp_path / "Dockerfile").write_text("# syntax=docker/dockerfile:1\nFROM --platform=linux/amd64 python:3.11-slim AS build\n"
                                         "RUN true\nFROM build\nFROM mambaorg/micromamba:1.5.10-jammy\n")
    assert base_images(tmp_path / "Dockerfile") == ["python:3.11-slim", "mambaorg/micromamba:1.5.10-jammy"]


def test_local_runs_keep_a_scorer_s_telemetry_on_this_machine():
    # `serve --containers` of an ACI service: azmlinfsrv's exporter, given only the stand-in key,
    # sent to https://dc.services.visualstudio.com and its statsbeat to westus-0.in.applicationinsights.azure.com.
    from mldeploy.runtime.synthesized_pod import NO_INSIGHTS, aci_pod_spec
    group = {"containers": [
        {"name": "scorer", "image": "s", "resources": {"requests": {"cpu": 1, "memoryInGB": 1}},
         "environmentVariables": [{"name": "AML_APP_INSIGHTS_ENABLED", "value": "true"},
                                  {"name": "AML_APP_INSIGHTS_KEY", "secureValue": "masked"}]},
        {"name": "gateway", "image": "g", "resources": {"requests": {"cpu": 1, "memoryInGB": 1}}}]}
    scorer, gateway = aci_pod_spec(group)["containers"]
    env = {e["name"]: e["value"] for e in scorer["env"]}
    assert env["APPLICATIONINSIGHTS_CONNECTION_STRING"] == NO_INSIGHTS["connection-string"]
    assert "IngestionEndpoint=http://127.0.0.1:9/" in env["APPLICATIONINSIGHTS_CONNECTION_STRING"]
    assert env["APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL"] == "true"
    assert env["MLDEPLOY_TELEMETRY_NOWHERE"] == "1", "the scorer host is told, so the exporter's retries stay quiet"
    assert gateway["env"] == []


def test_an_aci_group_s_app_insights_connection_string_is_a_local_one_in_a_local_run():
    # The group declares the workspace's key and connection string as secure values (components/aci.py):
    # locally each gets the stand-in of its own kind, not the key in the connection string's place.
    from mldeploy.runtime.synthesized_pod import NO_INSIGHTS, aci_pod_spec
    group = {"containers": [
        {"name": "scorer", "image": "s", "resources": {"requests": {"cpu": 1, "memoryInGB": 1}},
         "environmentVariables": [{"name": "AML_APP_INSIGHTS_ENABLED", "value": "true"},
                                  {"name": "AML_APP_INSIGHTS_KEY", "secureValue": "masked"},
                                  {"name": "APPLICATIONINSIGHTS_CONNECTION_STRING", "secureValue": "masked"}]}]}
    env = {e["name"]: e["value"] for e in aci_pod_spec(group)["containers"][0]["env"]}
    assert env["AML_APP_INSIGHTS_KEY"] == NO_INSIGHTS["instrumentation-key"]
    assert env["APPLICATIONINSIGHTS_CONNECTION_STRING"] == NO_INSIGHTS["connection-string"]
