"""The Pulumi internals mldeploy relies on, in one place: what the program reads from the engine's
config, what `mldeploy synth` needs to run the program in-process under mocks, the wire form of
secrets, how a policy pack's arguments are built outside `pulumi preview`, and what the policies
read of a value unknown at preview and of a provider SDK's resource classes.

None of these is documented API, so each may change in any Pulumi release. The supported range
is pyproject.toml's pin of `pulumi` and `pulumi-policy`; tests/test_pulumi_internals.py checks
that the installed versions are inside it and that every name used here exists with the shape
used here. Nothing else in the tree imports these internals.
"""
from __future__ import annotations

import asyncio
import atexit
import inspect
import logging
import pickle
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Mapping, Sequence

from google.protobuf import struct_pb2
from pulumi.runtime import config as runtime_config
from pulumi.runtime import rpc
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.mocks import MockMonitor, Mocks, set_mocks
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await
from pulumi_policy import PolicyResource, PolicyResourceOptions, ResourceValidationArgs, StackValidationArgs
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

__all__ = ["MockMonitor", "PolicyResource", "UNKNOWN_AT_PREVIEW", "UnknownValueError", "as_preview_props", "config_from_engine", "deserialize_properties", "fresh_root_stack",
           "is_wire_secret", "policy_resource", "registered_options", "resource_input_names",
           "resource_validation_args", "run_mocked_program", "stack_validation_args", "unwrap_wire_secret",
           "wrap_wire_secret"]


# -- the program: config as the engine handed it ---------------------------------------------

def config_from_engine() -> tuple[dict[str, Any], set[str]]:
    """(config values, keys marked secret) as this process got them: from the environment under
    `pulumi up`, from `set_all_config` under synth (`pulumi.Config` reads one key at a time and
    does not list them)."""
    values = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    secret_keys = set(runtime_config.get_config_secret_keys_env()) | set(runtime_config._SECRET_KEYS.get())
    return values, secret_keys


# -- synth: the program in-process, under mocks -----------------------------------------------

def run_mocked_program(program: Callable[[], Any], mocks: Mocks, monitor: MockMonitor, *, project: str, stack: str,
                       config: dict[str, str], secret_keys: Sequence[str],
                       logger: logging.Logger | None = None) -> None:
    """Run `program` once as the Pulumi engine would, against `mocks`, to the end of its RPCs.

    A fresh root stack and empty RPC and output queues first: several runs share this process
    (synth of several stacks, the tests), and none may see another's exports or URNs."""
    fresh_root_stack()
    runtime_config.set_all_config(config, list(secret_keys))
    # `logger`: where the program's pulumi.log messages go (the SDK's MockEngine.Log hands each to it;
    # without one, the root logger, whose last-resort handler prints a warning bare on stderr).
    set_mocks(mocks, project=project, stack=stack, preview=False, monitor=monitor, logger=logger)
    runtime_settings.SETTINGS.rpc_manager.clear()
    runtime_settings.SETTINGS.outputs.clear()
    with pickler_kept():
        _sync_await(run_pulumi_func(program))
    _close_at_exit(asyncio.get_event_loop_policy().get_event_loop())


_LOOPS_TO_CLOSE: list[asyncio.AbstractEventLoop] = []


def _close_at_exit(loop: asyncio.AbstractEventLoop) -> None:
    """Close the event loop `_sync_await` made (and keeps for the next run in this process) when
    the process exits. Left open, it is finalized in the interpreter's last garbage collection,
    in no set order with its own self-pipe socket: when the socket goes first, the loop's
    `__del__` prints `Exception ignored ... ValueError: Invalid file descriptor: -1` with a
    traceback under a CLI's last message (seen once in CI after `serve --containers` failed)."""
    if not _LOOPS_TO_CLOSE:
        atexit.register(_close_loops)
    if loop not in _LOOPS_TO_CLOSE:
        _LOOPS_TO_CLOSE.append(loop)


def _close_loops() -> None:
    for loop in _LOOPS_TO_CLOSE:
        if not loop.is_running() and not loop.is_closed():
            loop.close()


@contextmanager
def pickler_kept() -> Iterator[None]:
    """Undo what pulumi.dynamic does to the pure-Python pickler. Its serialize_provider
    (pulumi/dynamic/dynamic.py, run for every dynamic resource) sorts dict items by setting
    `pickle.Pickler._batch_setitems` and `save_dict` while `pickle.Pickler` is `pickle._Pickler`, and
    restores only `pickle.Pickler`: each call wraps the previous call's wrapper, so after a few
    hundred dynamic resources in one process (synth of several stacks; the test suite) any
    pure-Python pickler - joblib's NumpyPickler, which `mldeploy init` uses - recurses past
    Python's limit (RecursionError in batch_set_items_sorted_before_py14)."""
    saved = pickle._Pickler._batch_setitems, pickle._Pickler.save_dict
    try:
        yield
    finally:
        pickle._Pickler._batch_setitems, pickle._Pickler.save_dict = saved


def fresh_root_stack() -> None:
    """Forget the root stack of a previous run in this process (tests under `pulumi.runtime.test`
    and synth run several programs; each must get a root stack of its own)."""
    runtime_settings.ROOT.set(None)


def registered_options(request: Any) -> dict[str, Any]:
    """The resource options the program set on one registration (a `RegisterResourceRequest` as the
    monitor receives it), camelCase as Pulumi's docs name them; options left unset are absent.

    Aliases: the generated SDKs of azure-native, kubernetes, etc. add type-only aliases for a
    type's former tokens (`azure-native:machinelearningservices/v20230401:OnlineEndpoint`) to every
    custom resource of that type; those are the SDK's, not the program's, and are left out. A
    program's own aliases (a former name or parent, `components/children.py`) are kept."""
    options: dict[str, Any] = {}
    if request.ignoreChanges:
        options["ignoreChanges"] = list(request.ignoreChanges)
    if request.replaceOnChanges:
        options["replaceOnChanges"] = list(request.replaceOnChanges)
    if request.deleteBeforeReplaceDefined:
        options["deleteBeforeReplace"] = bool(request.deleteBeforeReplace)
    if request.HasField("protect") and request.protect:
        options["protect"] = True
    if request.HasField("retainOnDelete") and request.retainOnDelete:
        options["retainOnDelete"] = True
    aliases = [alias for alias in (_alias(a, request.type) for a in request.aliases) if alias]
    aliases += [{"urn": urn} for urn in request.aliasURNs]
    if aliases:
        options["aliases"] = aliases
    return options


_ALIAS_SPEC_FIELDS = ("name", "type", "stack", "project", "parentUrn", "noParent")


def _alias(alias: Any, resource_type: str) -> dict[str, Any] | None:
    """One alias as {field: value} (only the fields set), None for an SDK's type-only alias."""
    if alias.HasField("urn"):
        return {"urn": alias.urn}
    spec = {f: getattr(alias.spec, f) for f in _ALIAS_SPEC_FIELDS if getattr(alias.spec, f)}
    package = resource_type.split(":", 1)[0]
    if set(spec) == {"type"} and spec["type"].split(":", 1)[0] == package:
        return None
    return spec


# -- secrets in wire form (resource inputs as the monitor receives them) ---------------------

def is_wire_secret(value: Any) -> bool:
    return rpc.is_rpc_secret(value)


def unwrap_wire_secret(value: Any) -> Any:
    return rpc.unwrap_rpc_secret(value)


def wrap_wire_secret(value: Any) -> Any:
    return rpc.wrap_rpc_secret(value)


def deserialize_properties(struct: Any) -> Any:
    """A protobuf Struct of resource properties (a monitor's `request.object`) as Python values,
    each secret wrapped where the program marked it: at its leaf, as the engine keeps it.

    Written here, not `rpc.deserialize_properties`: that one pushes secretness up ("push the
    secretness 'up' a level", rpc.deserialize_property) - a map or list with one secret child comes
    back as one secret with raw values inside, so synth's masker could not tell which leaf was the
    secret and masked a whole input (a container app's `configuration`: ingress, traffic and all).
    Everything but plain maps and lists (assets, archives, resource references, output values,
    unknowns, scalars) is decoded by Pulumi's own code."""
    return _decoded(struct)


def _decoded(value: Any) -> Any:
    if isinstance(value, struct_pb2.ListValue):
        return [_decoded(item) for item in value]
    if isinstance(value, struct_pb2.Struct):
        if rpc._special_sig_key in value:
            if value[rpc._special_sig_key] == rpc._special_secret_sig:
                return rpc.wrap_rpc_secret(_decoded(value["value"]))
            return rpc.deserialize_properties(value)
        # Like Pulumi's: a property that decodes to None (unknown outside a preview) is absent.
        return {key: item for key, item in ((k, _decoded(v)) for k, v in value.items()) if item is not None}
    return rpc.deserialize_property(value)


# -- policies: arguments as `pulumi preview --policy-pack` builds them ------------------------

def policy_resource(resource_type: str, props: Mapping[str, Any], urn: str, name: str,
                    parent_urn: str | None = None, options: Mapping[str, Any] | None = None) -> PolicyResource:
    """A resource as a stack policy sees it; no provider or dependencies (synth records none).
    `options`: the recorded ones (`registered_options`). Link `.parent` afterwards when known."""
    given = options or {}
    options = PolicyResourceOptions(protect=bool(given.get("protect")),
                                    ignore_changes=list(given.get("ignoreChanges") or []),
                                    delete_before_replace=given.get("deleteBeforeReplace"), aliases=[],
                                    custom_timeouts=None, additional_secret_outputs=[], parent=parent_urn or None)
    return PolicyResource(resource_type=resource_type, props=props, urn=urn, name=name, opts=options, provider=None,
                          parent=None, dependencies=[], property_dependencies={})


def resource_validation_args(resource: PolicyResource, config: Mapping[str, Any] | None) -> ResourceValidationArgs:
    """What a resource policy is handed for `resource`, with the policy's config."""
    return ResourceValidationArgs(resource_type=resource.resource_type, props=resource.props, urn=resource.urn,
                                  name=resource.name, opts=resource.opts, provider=None, config=config)


def stack_validation_args(resources: Sequence[PolicyResource], config: Mapping[str, Any] | None) -> StackValidationArgs:
    """What a stack policy is handed: every resource, with the policy's config."""
    return StackValidationArgs(resources=list(resources), config=config)


# -- policies: what a pack reads under `pulumi preview` ---------------------------------------
# `UnknownValueError` (imported above): what pulumi_policy's props proxy raises when a policy
# reads a value not known until `pulumi up`; the policies read such values as "unknown".

UNKNOWN_AT_PREVIEW = UNKNOWN_STRING_VALUE  # how the engine hands a policy a value not known yet


def as_preview_props(props: Mapping[str, Any]) -> Any:
    """`props` as `pulumi preview` hands them to a policy: reading an UNKNOWN_AT_PREVIEW value
    raises UnknownValueError (for tests of the policies' preview path)."""
    return unknown_checking_proxy(props)


def resource_input_names(resource_class: type) -> set[str]:
    """The input names (snake_case) a generated provider SDK's resource class takes, read from
    its `_internal_init` (the one method whose signature lists every input; `__init__` is
    overloaded and takes `**kwargs`)."""
    return set(inspect.signature(resource_class._internal_init).parameters)
