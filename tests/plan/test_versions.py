"""The dated table (mldeploy/plan/versions.py): refusals, warnings, and that no stack nor default
relies on a version past its date (issue 9 item 7)."""
from __future__ import annotations

from datetime import date

import pytest

from mldeploy.config import ConfigError
from mldeploy.contract import DEFAULT_IOT_EDGE_RUNTIME, DEFAULT_MIN_KUBERNETES
from mldeploy.plan.versions import (AKS_KUBERNETES, AS_OF, IOT_EDGE_RUNTIME, cluster_creation_problem, iot_edge_end,
                                    kubernetes_end, stack_warnings)
from tests.harness import STACKS, stack_values, synth


def test_every_default_image_is_the_one_the_dated_table_sources():
    """The references mldeploy writes by default are the table's rows (DEFAULT_IMAGES: how each is
    fixed, the source, the date checked): a constant changed without the table is caught here."""
    import re

    from mldeploy.contract import AZUREML_BASE_IMAGE, GATEWAY_IMAGE
    from mldeploy.plan.versions import DEFAULT_IMAGES, IMAGES_AS_OF
    from mldeploy.render.build_context import MICROMAMBA_IMAGE
    from mldeploy.targets.aks.settings import COLLECTOR_IMAGE
    in_code = {"azureml-base": AZUREML_BASE_IMAGE, "gateway": GATEWAY_IMAGE, "collector": COLLECTOR_IMAGE,
               "micromamba": MICROMAMBA_IMAGE}
    for name, reference in in_code.items():
        assert DEFAULT_IMAGES[name].reference == reference, f"{name}: code has {reference}, the table " \
            f"{DEFAULT_IMAGES[name].reference}"
    assert re.fullmatch(r"mcr\.microsoft\.com/azureml/[^:@]+:\d{8}\.v\d+", AZUREML_BASE_IMAGE), \
        f"{AZUREML_BASE_IMAGE}: Azure ML's base image by a dated tag (<yyyymmdd>.v1), never `latest`"
    assert "@sha256:" in GATEWAY_IMAGE and DEFAULT_IMAGES["gateway"].pinned_by == "digest"
    assert IMAGES_AS_OF >= AS_OF and all(row.source for row in DEFAULT_IMAGES.values())


def test_docs_deploying_lists_every_default_image_as_the_table_has_it():
    """docs/deploying.md's table of default images is the dated table in words: a row changed in one
    and not the other is caught here."""
    from mldeploy.plan.versions import DEFAULT_IMAGES
    from tests.harness import ROOT
    text = "\n".join(line for line in (ROOT / "docs" / "deploying.md").read_text().splitlines() if line.startswith("|"))
    for name, row in DEFAULT_IMAGES.items():
        for reference in row.reference.split(", "):
            shown = reference.split("@")[0].rsplit("/", 1)[-1].replace("<runtimeVersion>", "1.6")
            assert shown in text, f"docs/deploying.md does not show {name}'s {reference}"


def test_the_defaults_are_supported_as_of_the_tables_date():
    assert kubernetes_end(DEFAULT_MIN_KUBERNETES) >= AS_OF, f"minKubernetesVersion default {DEFAULT_MIN_KUBERNETES}"
    assert iot_edge_end(DEFAULT_IOT_EDGE_RUNTIME) >= AS_OF, f"IoT Edge runtime default {DEFAULT_IOT_EDGE_RUNTIME}"


@pytest.mark.parametrize("stack", STACKS)
def test_no_example_stack_relies_on_an_expired_version_today(stack):
    """Fails by itself when a date in the table passes: update the stack (or the table)."""
    from mldeploy.targets.edge.checks import runtime_warnings
    from mldeploy.targets.stack import load_stack
    from tests.harness import ROOT

    settings = load_stack(ROOT, stack)  # a created cluster on an ended version is a ConfigError here
    assert [*stack_warnings(settings, date.today()), *runtime_warnings(settings, date.today())] == [], f"stack {stack}"


def test_aks_no_longer_creates_1_32_in_late_2026():
    assert cluster_creation_problem("1.32", False, date(2026, 11, 25)).startswith(
        "Kubernetes 1.32 left AKS support on 2026-03-31")
    assert cluster_creation_problem("1.35", False, date(2026, 11, 25)) is None


def test_long_term_support_extends_creation_by_its_own_date():
    assert cluster_creation_problem("1.32", True, date(2026, 11, 25)) is None
    assert "long-term support on 2027-03-31" in cluster_creation_problem("1.32", True, date(2027, 4, 1))


def test_versions_older_than_the_table_have_ended_and_newer_ones_are_unknown():
    assert kubernetes_end("1.20") == AKS_KUBERNETES["1.29"].end_of_life
    assert kubernetes_end("1.40") is None


def test_creating_a_cluster_on_an_ended_version_is_a_config_error_naming_the_key(tmp_path):
    values, keys = stack_values("prod")
    values["mldeploy:clusters"]["prod"]["kubernetesVersion"] = "1.32"
    with pytest.raises(ConfigError) as err:
        synth("prod", tmp_path, values, keys)
    assert "mldeploy:clusters.prod.kubernetesVersion" in str(err.value), str(err.value)
    assert "AKS creates no cluster on it" in str(err.value)


def test_premium_tier_and_long_term_support_are_accepted(tmp_path):
    values, keys = stack_values("prod")
    values["mldeploy:clusters"]["prod"].update(tier="Premium", longTermSupport=True)
    cluster = synth("prod", tmp_path, values, keys).one("azure-native:containerservice:ManagedCluster")["inputs"]
    assert cluster["sku"]["tier"] == "Premium" and cluster["supportPlan"] == "AKSLongTermSupport"


def test_long_term_support_without_premium_is_refused(tmp_path):
    values, keys = stack_values("prod")
    values["mldeploy:clusters"]["prod"]["longTermSupport"] = True
    with pytest.raises(ConfigError, match="longTermSupport needs tier Premium"):
        synth("prod", tmp_path, values, keys)


def test_an_expired_edge_runtime_is_warned_about_with_its_key():
    from mldeploy.targets.edge.checks import runtime_warnings
    from mldeploy.targets.stack import parse_settings
    from tests.harness import ROOT

    values, keys = stack_values("edge")
    values["mldeploy:edge"]["clinics"]["runtimeVersion"] = "1.5"
    settings = parse_settings("edge", values, keys, ROOT, "stacks/Pulumi.edge.yaml")
    warnings = runtime_warnings(settings, date(2026, 11, 25))
    assert warnings == [w for w in warnings if w.startswith("mldeploy:edge.clinics.runtimeVersion: IoT Edge runtime "
                                                            "1.5 left support on 2026-11-10")] and warnings
    assert runtime_warnings(settings, date(2026, 11, 1)) == [], "1.5 was still serviced on 2026-11-01"


def test_an_edge_runtime_may_be_pinned_to_one_release_of_a_supported_minor():
    """`1.6` is Microsoft's rolling tag (the newest 1.6.x); `1.6.<patch>` is one release, checked against
    the 1.6 row (plan/versions.py DEFAULT_IMAGES `iot-edge-runtime`)."""
    from mldeploy.targets.stack import parse_settings
    from tests.harness import ROOT

    values, keys = stack_values("edge")
    values["mldeploy:edge"]["clinics"]["runtimeVersion"] = "1.6.3"
    settings = parse_settings("edge", values, keys, ROOT, "stacks/Pulumi.edge.yaml")
    assert settings.sections["edge"]["clinics"].runtime_version == "1.6.3"
    for wrong in ("1.6.", "1.6.3.1", "1.6-rc1"):
        values["mldeploy:edge"]["clinics"]["runtimeVersion"] = wrong
        with pytest.raises(ConfigError, match="runtimeVersion"):
            parse_settings("edge", values, keys, ROOT, "stacks/Pulumi.edge.yaml")


def test_an_attached_cluster_minimum_below_support_is_warned_about():
    from mldeploy.targets.stack import parse_settings
    from tests.harness import ROOT

    values, keys = stack_values("prod-attach")
    values["mldeploy:clusters"]["shared"]["minKubernetesVersion"] = "1.30"
    settings = parse_settings("prod-attach", values, keys, ROOT, "stacks/Pulumi.prod-attach.yaml")
    assert [w.split(":")[1] for w in stack_warnings(settings, AS_OF)] == ["clusters.shared.minKubernetesVersion"]


def test_synth_prints_the_warning(tmp_path):
    import subprocess
    import sys
    import shutil

    from tests.harness import ROOT

    project = tmp_path / "p"
    (project / "stacks").mkdir(parents=True)
    (project / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    shutil.copytree(ROOT / "examples", project / "examples")
    text = (ROOT / "stacks" / "Pulumi.edge.yaml").read_text().replace("      port: 5001\n",
                                                                       "      port: 5001\n      runtimeVersion: \"1.5\"\n")
    (project / "stacks" / "Pulumi.edge.yaml").write_text(text)
    proc = subprocess.run([sys.executable, "-m", "mldeploy", "synth", "--stack", "edge", "--out", str(tmp_path / "o"),
                           "--project-dir", str(project)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "warning: stacks/Pulumi.edge.yaml: mldeploy:edge.clinics.runtimeVersion: IoT Edge runtime 1.5" in proc.stderr
    shutil.rmtree(tmp_path / "o", ignore_errors=True)


def test_the_table_lists_the_lts_edge_runtimes():
    assert set(IOT_EDGE_RUNTIME) >= {"1.5", "1.6"}


def test_a_sovereign_clouds_region_error_names_that_clouds_source_and_date():
    from mldeploy.plan.versions import region_problem

    gov = region_problem("usgovvirgina2", "usgovernment")
    assert "azure-sdk-for-java" in gov and "2026-12-05" in gov, f"the Gov table's own source and date: {gov}"
    china = region_problem("chinanorth4", "china")
    assert "docs.azure.cn/en-us/reliability/regions-list" in china and "did you mean" in china, china
    public = region_problem("westeurope9")
    assert "learn.microsoft.com/azure/reliability/regions-list" in public, public


def test_docs_deploying_lists_the_toolchain_pins_as_the_table_has_them():
    """docs/deploying.md's toolchain table is the dated table in words (Pulumi CLI, actions, kubelogin)."""
    from mldeploy.plan.versions import ACTION_PINS, KUBELOGIN_VERSION, PULUMI_CLI
    from tests.harness import ROOT
    text = "\n".join(line for line in (ROOT / "docs" / "deploying.md").read_text().splitlines() if line.startswith("|"))
    assert f"| Pulumi CLI | `{PULUMI_CLI}`" in text and f"releases/tag/v{PULUMI_CLI}" in text, "Pulumi CLI row"
    for action, pin in ACTION_PINS.items():
        assert f"`{action}` {pin.version}" in text, f"docs/deploying.md does not show {action} {pin.version}"
    assert f"`{KUBELOGIN_VERSION}`" in text, "kubelogin row"


def test_docs_deploying_lists_every_deploy_package_pin():
    from mldeploy.plan.versions import DEPLOY_PACKAGES
    from tests.harness import ROOT
    text = "\n".join(line for line in (ROOT / "docs" / "deploying.md").read_text().splitlines() if line.startswith("|"))
    for name, version in DEPLOY_PACKAGES.items():
        assert f"`{name}=={version}`" in text, f"docs/deploying.md does not show {name}=={version}"


def test_docs_deploying_lists_the_build_backend_pin():
    from mldeploy.plan.versions import BUILD_BACKEND
    from tests.harness import ROOT
    row = next((line for line in (ROOT / "docs" / "deploying.md").read_text().splitlines()
                if line.startswith("| mldeploy's build backend |")), "")
    for name, version in BUILD_BACKEND.items():
        assert f"`{name}=={version}`" in row, f"docs/deploying.md's build backend row does not show {name}=={version}: {row!r}"


def test_the_kubelogin_pin_cites_its_release_with_the_date_checked():
    """The version's primary source is Azure/kubelogin's own release tag, beside the table entry and in the docs."""
    from mldeploy.plan.versions import KUBELOGIN_AS_OF, KUBELOGIN_SOURCE, KUBELOGIN_VERSION
    from tests.harness import ROOT
    assert KUBELOGIN_SOURCE == f"https://github.com/Azure/kubelogin/releases/tag/{KUBELOGIN_VERSION}"
    assert KUBELOGIN_AS_OF <= date.today()
    row = next(line for line in (ROOT / "docs" / "deploying.md").read_text().splitlines() if line.startswith("| kubelogin |"))
    assert KUBELOGIN_SOURCE in row and KUBELOGIN_AS_OF.isoformat() in row, row


def test_docs_deploying_lists_the_scoring_environment_s_python_and_pip():
    from mldeploy.plan.versions import CONDA_AS_OF, CONDA_PYTHONS
    from tests.harness import ROOT
    text = (ROOT / "docs" / "deploying.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith("| 3.")]
    for minor, pinned in CONDA_PYTHONS.items():
        assert any(row.startswith(f"| {minor} | {pinned.python} | {pinned.pip}") for row in rows), (minor, rows)
    assert f"checked {CONDA_AS_OF.isoformat()}" in text
