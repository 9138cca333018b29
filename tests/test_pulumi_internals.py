"""The Pulumi internals adapter (mldeploy/pulumi_internals.py), pinned to the supported range:
the installed Pulumi is inside pyproject's pin, and every internal the adapter touches exists
with the shape it uses. A Pulumi upgrade that moves one fails here, by name, not in synth."""
from __future__ import annotations

import ast
import asyncio
import inspect
import tomllib
from contextvars import ContextVar
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from pulumi.runtime import config as runtime_config
from pulumi.runtime import rpc
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime import stack as runtime_stack
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.sync_await import _sync_await
from pulumi_policy import PolicyResource, PolicyResourceOptions, ResourceValidationArgs, StackValidationArgs

import mldeploy.pulumi_internals as adapter

ROOT = Path(__file__).resolve().parents[1]
PINS = {Requirement(r).name: Requirement(r).specifier
        for r in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]}


@pytest.mark.parametrize("package", ["pulumi", "pulumi-policy"])
def test_the_installed_version_is_inside_pyprojects_pin(package):
    assert version(package) in PINS[package], \
        f"{package} {version(package)} is outside pyproject's pin {PINS[package]}: check mldeploy/pulumi_internals.py"


def test_config_secret_keys_are_a_context_variable_holding_a_set():
    assert isinstance(runtime_config._SECRET_KEYS, ContextVar), "pulumi.runtime.config._SECRET_KEYS"
    assert isinstance(runtime_config._SECRET_KEYS.get(), set), "pulumi.runtime.config._SECRET_KEYS holds a set"


def test_config_values_are_a_context_variable_holding_a_dict():
    assert isinstance(runtime_config.CONFIG, ContextVar) and isinstance(runtime_config.CONFIG.get(), dict), \
        "pulumi.runtime.config.CONFIG"


def test_the_engine_config_is_read_back_as_set(monkeypatch):
    monkeypatch.setattr(runtime_config, "CONFIG", ContextVar("config", default={}))
    monkeypatch.setattr(runtime_config, "_SECRET_KEYS", ContextVar("secret_keys", default=set()))
    monkeypatch.delenv("PULUMI_CONFIG", raising=False)
    monkeypatch.delenv("PULUMI_CONFIG_SECRET_KEYS", raising=False)
    runtime_config.set_all_config({"mldeploy:tags": "{}", "mldeploy:keys": "k"}, ["mldeploy:keys"])
    assert adapter.config_from_engine() == ({"mldeploy:tags": "{}", "mldeploy:keys": "k"}, {"mldeploy:keys"}), \
        "config_from_engine after set_all_config"


def test_the_root_stack_is_a_context_variable():
    assert isinstance(runtime_settings.ROOT, ContextVar), "pulumi.runtime.settings.ROOT"


@pytest.mark.parametrize("queue", ["rpc_manager", "outputs"])
def test_the_runtime_settings_queues_can_be_cleared(queue):
    assert callable(getattr(getattr(runtime_settings.SETTINGS, queue), "clear", None)), \
        f"pulumi.runtime.settings.SETTINGS.{queue}.clear()"


def test_run_pulumi_func_is_a_coroutine_taking_the_program():
    assert asyncio.iscoroutinefunction(runtime_stack.run_pulumi_func), "pulumi.runtime.stack.run_pulumi_func"
    assert list(inspect.signature(runtime_stack.run_pulumi_func).parameters)[0] == "func", \
        "run_pulumi_func(func, ...)"


def test_sync_await_runs_a_coroutine_to_its_result():
    async def answer() -> int:
        return 42

    assert _sync_await(answer()) == 42, "pulumi.runtime.sync_await._sync_await"


def test_a_secret_survives_the_wire_form():
    wrapped = rpc.wrap_rpc_secret("s3cret")
    assert adapter.is_wire_secret(wrapped) and adapter.unwrap_wire_secret(wrapped) == "s3cret", \
        "pulumi.runtime.rpc wrap/is/unwrap_rpc_secret"


def test_resource_inputs_keep_each_secret_at_its_leaf():
    """As the monitor receives them (serialized by the SDK); Pulumi's own deserializer would make
    the whole `configuration` one secret."""
    inputs = {"configuration": {"ingress": {"traffic": [{"weight": 90}]},
                                "secrets": [{"name": "conf", "value": rpc.wrap_rpc_secret("s3cret")}]},
              "tags": rpc.wrap_rpc_secret({"a": "b"})}
    struct = _sync_await(rpc.serialize_properties(inputs, {}, keep_output_values=False))
    assert adapter.deserialize_properties(struct) == {
        "configuration": {"ingress": {"traffic": [{"weight": 90.0}]},
                          "secrets": [{"name": "conf", "value": rpc.wrap_rpc_secret("s3cret")}]},
        "tags": rpc.wrap_rpc_secret({"a": "b"})}, "pulumi.runtime.rpc._special_sig_key/_special_secret_sig"


def test_the_mock_monitor_has_the_calls_the_recorder_overrides():
    for method in ("RegisterResource", "ReadResource"):
        assert callable(getattr(MockMonitor, method, None)), f"pulumi.runtime.mocks.MockMonitor.{method}"


@pytest.mark.parametrize("cls", [PolicyResource, PolicyResourceOptions, ResourceValidationArgs, StackValidationArgs])
def test_the_policy_argument_classes_take_the_keywords_the_adapter_passes(cls):
    source = inspect.getsource(adapter)
    passed = {kw.arg for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Call)
              and getattr(node.func, "id", None) == cls.__name__ for kw in node.keywords}
    accepted = set(inspect.signature(cls).parameters)
    assert passed and passed <= accepted, f"pulumi_policy.{cls.__name__} does not take {sorted(passed - accepted)}"


def test_a_policy_resource_keeps_its_parent_urn():
    r = adapter.policy_resource("t:m:R", {"a": 1}, "urn:pulumi:dev::p::t:m:R::r", "r", parent_urn="urn:parent")
    assert (r.resource_type, r.props, r.name, r.opts.parent) == ("t:m:R", {"a": 1}, "r", "urn:parent"), \
        "policy_resource urn:pulumi:dev::p::t:m:R::r"


INTERNALS = {"pulumi.runtime.config", "pulumi.runtime.rpc", "pulumi.runtime.settings", "pulumi.runtime.stack",
             "pulumi.runtime.sync_await", "pulumi.runtime.mocks.MockMonitor", "pulumi_policy.PolicyResource",
             "pulumi_policy.PolicyResourceOptions", "pulumi_policy.ResourceValidationArgs",
             "pulumi_policy.StackValidationArgs", "pulumi_policy.proxy"}
# Private members of Pulumi's generated SDK classes, read by attribute (no import names them).
INTERNAL_ATTRIBUTES = {"_internal_init"}


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Attribute) and node.attr in INTERNAL_ATTRIBUTES:
            names.add(node.attr)
    return names


def _internals_used(path: Path) -> set[str]:
    """The internals a file imports (a module, or a name from it) or reads by attribute."""
    return {name for name in _imports(path)
            if name in INTERNAL_ATTRIBUTES or any(name == i or name.startswith(i + ".") for i in INTERNALS)}


# `mldeploy/policies` is a link to `policies/`: the folder is scanned itself, once.
SCANNED = ("mldeploy", "components", "policies", "tests", "bench")


def test_nothing_else_imports_the_internals():
    found = [f"{path.relative_to(ROOT)}: {sorted(_internals_used(path))}"
             for folder in SCANNED for path in sorted((ROOT / folder).rglob("*.py"))
             if path.name not in ("pulumi_internals.py", "test_pulumi_internals.py") and _internals_used(path)]
    assert not found, f"Pulumi internals used outside mldeploy/pulumi_internals.py: {found}"


def test_the_guard_reads_the_policy_pack():
    scanned = {path.relative_to(ROOT).parts[0] for folder in SCANNED for path in (ROOT / folder).rglob("*.py")}
    assert {"policies", "components"} <= scanned, f"the guard must read the policy pack and components: {scanned}"


def test_a_value_unknown_at_preview_raises_what_the_policies_catch():
    props = adapter.as_preview_props({"a": adapter.UNKNOWN_AT_PREVIEW, "b": 1})
    assert props["b"] == 1, "a known value reads as itself"
    with pytest.raises(adapter.UnknownValueError):
        props["a"]


def test_a_provider_class_lists_its_inputs():
    from pulumi_azure_native.containerregistry import Registry

    names = adapter.resource_input_names(Registry)
    assert {"tags", "admin_user_enabled", "sku"} <= names, f"Registry._internal_init inputs: {sorted(names)}"


# -- resource options of a registration --------------------------------------------------------

def _request(**fields):
    from pulumi.runtime.proto import alias_pb2, resource_pb2
    aliases = [alias_pb2.Alias(spec=alias_pb2.Alias.Spec(**spec)) for spec in fields.pop("alias_specs", [])]
    return resource_pb2.RegisterResourceRequest(aliases=aliases, **fields)


def test_options_left_unset_are_not_recorded():
    assert adapter.registered_options(_request(type="azure-native:resources:ResourceGroup", name="rg")) == {}, \
        "a registration without options records none"


def test_every_option_the_program_sets_is_recorded():
    request = _request(type="azure-native:machinelearningservices:OnlineEndpoint", name="ep",
                       ignoreChanges=["properties.traffic"], replaceOnChanges=["properties.compute"],
                       deleteBeforeReplace=True, deleteBeforeReplaceDefined=True, protect=True, retainOnDelete=True,
                       alias_specs=[{"name": "endpoint"}])
    assert adapter.registered_options(request) == {
        "ignoreChanges": ["properties.traffic"], "replaceOnChanges": ["properties.compute"],
        "deleteBeforeReplace": True, "protect": True, "retainOnDelete": True, "aliases": [{"name": "endpoint"}],
    }, "registered_options of a request with every option"


def test_the_sdks_own_type_aliases_are_not_the_programs():
    request = _request(type="azure-native:machinelearningservices:OnlineEndpoint", name="ep", alias_specs=[
        {"type": "azure-native:machinelearningservices/v20230401:OnlineEndpoint"},
        {"type": "mldeploy:old:Endpoint"}, {"name": "old-name", "parentUrn": "urn:pulumi:s::p::t::old"}])
    assert adapter.registered_options(request)["aliases"] == [
        {"type": "mldeploy:old:Endpoint"}, {"name": "old-name", "parentUrn": "urn:pulumi:s::p::t::old"}], \
        "the azure-native SDK's type alias is dropped, the program's aliases kept"


def test_dynamic_providers_leave_the_pure_python_pickler_as_they_found_it(tmp_path):
    """pulumi.dynamic's serialize_provider wraps pickle._Pickler's dict methods once per dynamic
    resource and never unwraps them: after ~1,000 in one process, joblib.dump (a pure-Python
    pickler) raised RecursionError (the fresh-clone CI run of bbeabb8, in tests/project after the
    synth tests). pickler_kept, around every mocked program, puts them back."""
    import pickle

    import joblib
    import numpy as np
    from pulumi.dynamic import ResourceProvider
    from pulumi.dynamic.dynamic import serialize_provider

    from mldeploy.pulumi_internals import pickler_kept

    class Provider(ResourceProvider):
        pass

    before = pickle._Pickler._batch_setitems, pickle._Pickler.save_dict
    with pickler_kept():
        with pytest.raises(RecursionError):  # what pulumi leaves behind, unrestored
            for _ in range(2000):
                serialize_provider(Provider())
            joblib.dump({"coef_": np.ones(3)}, tmp_path / "inside.pkl")
    assert (pickle._Pickler._batch_setitems, pickle._Pickler.save_dict) == before
    for _ in range(3):
        with pickler_kept():  # as run_mocked_program runs each program
            serialize_provider(Provider())
    joblib.dump({"coef_": np.ones(3)}, tmp_path / "after.pkl")
    assert (pickle._Pickler._batch_setitems, pickle._Pickler.save_dict) == before


def test_a_synth_run_leaves_the_pure_python_pickler_as_it_found_it(tmp_path):
    """The prod stack declares dynamic resources (role propagation waits): after its synth the
    pickler's dict methods are the ones it had before (fails without pickler_kept in
    run_mocked_program)."""
    import pickle

    from tests.harness import synth

    before = pickle._Pickler._batch_setitems, pickle._Pickler.save_dict
    result = synth("prod", tmp_path)
    assert any(r["type"].startswith("pulumi-python:dynamic") for r in result.resources), "no dynamic resource"
    assert (pickle._Pickler._batch_setitems, pickle._Pickler.save_dict) == before


def test_the_synth_event_loop_is_closed_before_the_interpreter_finalizes(tmp_path):
    """`_sync_await` leaves its event loop set for the next run; left open, the interpreter's last
    garbage collection may finalize its self-pipe socket first and the loop's __del__ then prints
    a traceback under a CLI's last line (CI, stop 30). atexit handlers run last-registered first,
    so a handler registered before the synth sees the loop as the adapter leaves it at exit."""
    import subprocess
    import sys
    script = tmp_path / "run.py"
    script.write_text(
        "import asyncio, atexit, sys\n"
        "from pulumi.runtime.mocks import MockMonitor, Mocks\n"
        "import mldeploy.pulumi_internals as adapter\n"
        "class M(Mocks):\n"
        "    def new_resource(self, args): return [args.name + '_id', args.inputs]\n"
        "    def call(self, args): return {}\n"
        "def check():\n"
        "    loop = asyncio.get_event_loop_policy().get_event_loop()\n"
        "    print('closed' if loop.is_closed() else 'open', file=sys.stderr)\n"
        "atexit.register(check)\n"
        "mocks = M()\n"
        "adapter.run_mocked_program(lambda: None, mocks, MockMonitor(mocks), project='p', stack='s',"
        " config={}, secret_keys=[])\n"
        "sys.exit(1)\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "closed", done.stderr
