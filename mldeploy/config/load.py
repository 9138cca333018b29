"""Read a stack's config - from a stack file (synth, serve, test) or from the Pulumi runtime
(`pulumi up`) - and turn it into one validated `StackSettings`, or one `ConfigError`."""
from __future__ import annotations

import difflib
import functools
import json
import re
import types
import typing
from pathlib import Path
from typing import Annotated, Any, Iterable, Mapping, Union

from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from pydantic.alias_generators import to_camel, to_snake

from mldeploy import PROJECT
from mldeploy.contract import STACKS_DIR, stack_file_path
from mldeploy.config.base import ENV_VARIABLE_ERROR, Name, Secret, SecureValue, looks_secret
from mldeploy.nested import leaves, map_leaves
from mldeploy.config.errors import ConfigError, shown
from mldeploy.config.files import NotJson, strict_json_loads
from mldeploy.config.strict_yaml import MAX_DEPTH, parse_yaml, read_text_file
from mldeploy.config.references import check_references
from mldeploy.config.stack import SECTIONS_FIELD, STACK_KEYS, StackSettings

PREFIX = f"{PROJECT}:"
LOCATION_KEY = "azure-native:location"
ENVIRONMENT_KEY = "azure-native:environment"  # the provider's cloud: public, usgovernment, china
NAME_RE = re.compile(r"[a-z][a-z0-9-]{0,30}[a-z0-9]")
STACK_NAME_RE = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}")
LOCATION_RE = re.compile(r"[A-Za-z][A-Za-z0-9 ]{1,39}")  # westeurope, eastus2 (or "West Europe")
# A stack file's keys are the camelCase names the config reference lists (`cpuCores`); the models also take
# their Python names (`cpu_cores`, config/base.py populate_by_name) for code that builds them, which a stack
# file may not use: `cpu_cores: 2` (the SDK v1 guide's spelling) is an unknown key there, with its camelCase
# name as the hint, like any other misspelling.
BY_NAME = False
NAME_RULE = "names are 2-32 lowercase letters, digits and '-', starting with a letter"
# Top-level keys Pulumi itself allows in a stack file besides `config`.
STACK_FILE_KEYS = {"config", "secretsprovider", "encryptedkey", "encryptionsalt", "environment"}


@functools.lru_cache(maxsize=None)
def _service_adapter(models: tuple[type, ...]) -> TypeAdapter:
    """One service, dispatched on `target` by pydantic (a discriminated union of the targets' models)."""
    return TypeAdapter(Annotated[Union[models], Field(discriminator="target")])


def stack_file(project_root: Path, stack: str) -> Path:
    return project_root / stack_file_path(stack)


def _stack_not_found(path: Path) -> str:
    """'stack file not found' with the stacks that do exist beside it (a typo'd `--stack lcoal`)."""
    known = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in path.parent.glob("Pulumi.*.yaml"))
    if not known:
        return "stack file not found"
    wanted = path.name[len("Pulumi."):-len(".yaml")] if path.name.startswith("Pulumi.") else path.stem
    close = difflib.get_close_matches(wanted, known, n=1)
    hint = f" (did you mean --stack {close[0]}?)" if close else ""
    return f"stack file not found{hint}; stacks here: {', '.join(known)}"


def read_stack_file(path: Path) -> tuple[dict[str, Any], set[str]]:
    """The stack file's `config:` map (secure leaves as `SecureValue`) and its secret keys."""
    source = str(path)
    if not path.exists():
        raise ConfigError("", _stack_not_found(path), source)
    try:
        doc = parse_yaml(read_text_file(path, "stack file"))
    except ConfigError as err:
        raise ConfigError(err.key or "(file)", err.message, source) from None
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise ConfigError("(file)", "must be a YAML mapping with a `config:` key", source)
    for key in doc:
        if key not in STACK_FILE_KEYS:
            raise ConfigError(str(key), _unknown(str(key), STACK_FILE_KEYS), source)
    config = doc.get("config") or {}
    if not isinstance(config, dict):
        raise ConfigError("config", "must be a mapping of `namespace:key: value`", source)
    secret_keys: set[str] = set()
    values: dict[str, Any] = {}
    for key, value in config.items():
        if not isinstance(key, str):
            raise ConfigError(f"config.{shown(key)}", "a config key must be a string `namespace:key`", source)
        try:
            converted, has_secret = _convert_secure(key, value)
        except ConfigError as err:
            raise err.with_source(source) from None
        values[key] = converted
        if has_secret:
            secret_keys.add(key)
    return values, secret_keys


def _convert_secure(where: str, value: Any) -> tuple[Any, bool]:
    """`secure:` leaves become SecureValue, one per value: a plain string stays plain (and a
    setting that must be secret refuses it), whatever else its section holds."""
    if isinstance(value, dict) and set(value) == {"secure"}:
        if not isinstance(value["secure"], str) or not value["secure"]:
            raise ConfigError(f"{where}.secure", "must be the ciphertext string Pulumi wrote "
                                                  "(`pulumi config set --secret`)")
        return SecureValue(value["secure"]), True
    if isinstance(value, dict):
        found = False
        out = {}
        for k, v in value.items():
            out[k], inner = _convert_secure(f"{where}.{k}", v)
            found |= inner
        return out, found
    if isinstance(value, list):
        pairs = [_convert_secure(f"{where}[{i}]", v) for i, v in enumerate(value)]
        return [p[0] for p in pairs], any(p[1] for p in pairs)
    return value, False


def mark_secure_leaves(value: Any, template: Any) -> Any:
    """The Pulumi CLI hands the program decrypted values and marks only whole top-level keys
    secret; the stack file says which leaves were `secure:`. Those leaves become `Secret`, so the
    secret rule holds per value under `pulumi up` as it does for synth."""
    if isinstance(template, SecureValue) and isinstance(value, str):
        return Secret(value)
    if isinstance(template, dict) and isinstance(value, dict):
        return {k: mark_secure_leaves(v, template.get(k)) for k, v in value.items()}
    if isinstance(template, list) and isinstance(value, list):
        return [mark_secure_leaves(v, template[i] if i < len(template) else None) for i, v in enumerate(value)]
    return value


def to_pulumi_config(values: dict[str, Any]) -> dict[str, str]:
    """The same config as the Pulumi CLI would hand to the program: strings, objects as JSON,
    secure leaves decrypted (here: their offline placeholders)."""

    def plain(v: Any) -> Any:
        if isinstance(v, SecureValue):
            return v.placeholder()
        if isinstance(v, Secret):
            return v.reveal()
        return v

    out = {}
    for key, value in values.items():
        value = map_leaves(plain, value)
        if isinstance(value, (dict, list)):
            out[key] = json.dumps(value)
        elif isinstance(value, bool):
            out[key] = "true" if value else "false"
        else:
            out[key] = str(value)
    return out


def stack_source(project_root: Path, stack: str) -> str:
    """The stack file as errors name it: relative to the project (`stacks/Pulumi.<stack>.yaml`)."""
    path = stack_file(project_root, stack)
    return str(path.relative_to(project_root)) if path.is_absolute() else str(path)


# Pulumi's own rule for a project's `name` (pulumi/pulumi sdk/go/common/tokens/project.go
# ValidateProjectName: non-empty, at most 100 characters, alphanumerics, '-', '_' and '.'), and its
# project file's required keys (sdk/go/common/workspace/project.json: `name` and `runtime`).
PROJECT_NAME_RE = re.compile(r"[A-Za-z0-9_.-]{1,100}")
PROJECT_FILE = "Pulumi.yaml"


def check_project_file(project_root: Path) -> None:
    """Pulumi.yaml as `pulumi up` will read it must agree with what mldeploy reads: a Python
    project whose stack files are in stacks/ (`stackConfigDir`). Otherwise synth, serve and diff would
    check one set of stack files and Pulumi deploy another (or refuse the project) - said here, once."""
    path = project_root / PROJECT_FILE
    try:
        doc = parse_yaml(read_text_file(path, "project file"))
    except ConfigError as err:
        raise ConfigError(err.key or "(file)", err.message, PROJECT_FILE) from None
    if not isinstance(doc, dict):
        raise ConfigError("(file)", "must be a YAML mapping with `name`, `runtime: python` and "
                                    f"`stackConfigDir: {STACKS_DIR}`", PROJECT_FILE)
    name = doc.get("name")
    if not isinstance(name, str) or not PROJECT_NAME_RE.fullmatch(name):
        raise ConfigError("name", f"{'is missing' if name is None else 'is ' + shown(name)}: a Pulumi project "
                                  "name is 1-100 letters, digits, '-', '_' and '.'", PROJECT_FILE)
    runtime = doc.get("runtime")
    runtime_name = runtime.get("name") if isinstance(runtime, dict) else runtime
    if runtime_name != "python":
        raise ConfigError("runtime", f"{'is missing' if runtime is None else 'is ' + shown(runtime_name)}: "
                                     "mldeploy's program is Python (`runtime: python`, or `name: python` "
                                     "with options)", PROJECT_FILE)
    where = doc.get("stackConfigDir")
    if not isinstance(where, str) or Path(where) != Path(STACKS_DIR):
        raise ConfigError("stackConfigDir", f"{'is missing' if where is None else 'is ' + shown(where)}: "
                          f"mldeploy reads each stack from {STACKS_DIR}/Pulumi.<stack>.yaml, so Pulumi must "
                          f"too (`stackConfigDir: {STACKS_DIR}`)", PROJECT_FILE)
    config = doc.get("config")
    if isinstance(config, dict):
        for key in config:
            if isinstance(key, str) and key.startswith(PREFIX):
                raise ConfigError(f"config.{key}", f"mldeploy's settings go in each stack's file "
                                  f"({STACKS_DIR}/Pulumi.<stack>.yaml), not the project's: mldeploy reads "
                                  "them from there", PROJECT_FILE)


def read_stack(project_root: Path, stack: str) -> tuple[dict[str, Any], set[str]]:
    """`stacks/Pulumi.<stack>.yaml`'s config map and secret keys; errors name the file."""
    if not STACK_NAME_RE.fullmatch(stack):
        raise ConfigError("--stack", f"invalid stack name {shown(stack)}: Pulumi stack names are "
                                     "letters, digits, '_', '.' and '-' (at most 100)")
    check_project_file(project_root)
    try:
        return read_stack_file(stack_file(project_root, stack))
    except ConfigError as err:
        raise err.with_source(stack_source(project_root, stack)) from None


def parse_settings(
    stack: str,
    config: dict[str, Any],
    secret_keys: Iterable[str],
    project_root: Path,
    source: str,
    service_models: Mapping[str, type],
    section_models: Mapping[str, type],
) -> StackSettings:
    """Validate a stack's config map (`namespace:key` -> value) into `StackSettings` (shape,
    names, references). From the target table (mldeploy/targets; the one load entry, with the
    plan's rules: mldeploy.targets.stack): `service_models`, target name -> its settings model;
    `section_models`, a section target's stack key (`batch`) -> the model of its entries."""
    secret_keys = set(secret_keys)
    try:
        return _parse(stack, config, secret_keys, project_root, service_models, section_models)
    except ConfigError as err:
        raise err.with_source(source) from None


def _parse(stack: str, config: dict[str, Any], secret_keys: set[str], root: Path,
           service_models: Mapping[str, type], section_models: Mapping[str, type]) -> StackSettings:
    stack_keys = (*STACK_KEYS, *section_models)
    own: dict[str, Any] = {}
    for key, value in config.items():
        _check_namespace(key)
        if not key.startswith(PREFIX):
            _no_plain_secret(key, value)
        if key.startswith(PREFIX):
            name = key[len(PREFIX):]
            if name not in stack_keys:
                raise ConfigError(key, _unknown(name, stack_keys))
            own[name] = decode_config_value(key, value)
    sections: dict[str, Any] = {}
    fields: dict[str, Any] = {"stack": stack, "location": _location(config.get(LOCATION_KEY)),
                              "cloud": _cloud(config.get(ENVIRONMENT_KEY))}
    for name, value in own.items():
        # Only a config handed over by the Pulumi CLI without its stack file lacks per-value
        # `secure:` marks; there a whole secret top-level key is all we know (docs/bad-input.md: limits).
        _no_null(f"{PREFIX}{name}", value)
        _no_key_twice_when_stripped(f"{PREFIX}{name}", value)
        context = {"root": str(root), "secret_key": f"{PREFIX}{name}" in secret_keys
                   and not _has_secure_leaves(value)}
        if name == "services":
            fields[name] = _parse_services(value, context, service_models)
        elif name in section_models:
            sections[name] = _validate_field(name, value, context, dict[Name, section_models[name]])
        else:
            fields[name] = _validate_field(name, value, context)
    # Every section target's key, in the table's order (the order its entries are checked and declared).
    fields[SECTIONS_FIELD] = {key: sections.get(key, {}) for key in section_models}
    try:
        settings = StackSettings.model_validate(fields, by_name=BY_NAME)
    except ValidationError as exc:
        err = _first_error("", exc, StackSettings)
        raise ConfigError(f"{PREFIX}{err.key.lstrip('.')}", err.message) from None
    if settings.needs_azure and not settings.location:
        raise ConfigError(LOCATION_KEY, "is required: the Azure region, e.g. westeurope "
                                        "(only a stack whose services are all `local` goes without)")
    check_references(settings, root)
    return settings


# Free-form values passed on as JSON, where `null` is a value of their own (Docker's createOptions).
NULL_ALLOWED_UNDER = ("createOptions",)


def _no_key_twice_when_stripped(key: str, value: Any) -> None:
    """Refuse two keys of one mapping that differ only in surrounding whitespace (`owner` and ` owner`):
    the settings read every string without it (Settings' str_strip_whitespace), so one would silently
    replace the other - the duplicate key the strict reader refuses, written with a space."""
    if isinstance(value, dict):
        seen: dict[str, Any] = {}
        for name, item in value.items():
            if isinstance(name, str):
                other = seen.setdefault(name.strip(), name)
                if other != name:
                    raise ConfigError(f"{key}.{name.strip()}", f"written twice, as {other!r} and {name!r}: keys are read "
                                      "without surrounding whitespace, so one would replace the other; keep one")
            _no_key_twice_when_stripped(f"{key}.{name}", item)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _no_key_twice_when_stripped(f"{key}[{index}]", item)


def _no_null(key: str, value: Any) -> None:
    """Refuse a key written without a value (`version:` or `version: null`): YAML reads it as null,
    which an optional key would take as "omitted" silently - a value forgotten is not a default asked
    for. Docker's createOptions (plain JSON) keep their nulls."""
    if value is None:
        raise ConfigError(key, "has no value (null): write a value, or leave the key out for its default")
    if isinstance(value, dict):
        for name, item in value.items():
            if name not in NULL_ALLOWED_UNDER:
                _no_null(f"{key}.{name}", item)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _no_null(f"{key}[{index}]", item)


def _no_plain_secret(key: str, value: Any) -> None:
    """Refuse a credential in plain text under another namespace's key (a provider's `clientSecret`,
    an app's `dbPassword`): Pulumi reads those keys itself, but the stack file sits in the repository,
    and `secure:` is how Pulumi keeps a value out of it (pulumi/pulumi-azure-native's schema generator,
    provider/pkg/gen/schema.go, marks its config `clientSecret` and `clientCertificatePassword`
    `Secret: true`). The same names and credential shapes as the env rule (config/base.py
    looks_secret), so ids, paths, URLs and switches pass; `secure:` values pass. Lists are walked too,
    each item under its list's name: `docker:registryAuth: [{address, username, password}]` (the
    pulumi-docker provider's registry logins, whose `password` its schema marks secret: pulumi/pulumi-docker,
    examples/test-secrets-in-explicit-provider, "values marked secret in the provider schema") or
    `myapp:tokens: [...]`."""
    if isinstance(value, dict):
        for name, item in value.items():
            _no_plain_secret(f"{key}.{name}", item)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _no_plain_secret(f"{key}[{index}]", item)
    elif isinstance(value, str) and value.lstrip().startswith(("{", "[")) and _json_container(value) is not None:
        # An object or list set as JSON text (`pulumi config set myapp:db '{"password": "..."}'`, the form the
        # Pulumi CLI stores a value it is handed as one string in): its values are read like YAML's.
        _no_plain_secret(key, _json_container(value))
    elif isinstance(value, str) and looks_secret(re.sub(r"(\[\d+\])+$", "", key).rsplit(":", 1)[-1].rsplit(".", 1)[-1],
                                                 value):
        how = f"--path '{key}'" if "." in key or "[" in key else key
        raise ConfigError(key, "holds a password, key or token in plain text: the stack file is committed with "
                               f"the project; set it with `pulumi config set --secret {how} <value>` (a `secure:` value)")


def _json_container(text: str) -> dict | list | None:
    """`text` read as a JSON object or array, or None when it is not one."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, (dict, list)) else None


def _check_namespace(key: Any) -> None:
    if not isinstance(key, str) or ":" not in key or key.startswith(":") or key.endswith(":"):
        raise ConfigError(shown(key) if not isinstance(key, str) else key,
                          "a config key is `namespace:key` (e.g. mldeploy:services, azure-native:location)")
    namespace = key.split(":", 1)[0]
    if namespace != PROJECT and (namespace.lower() == PROJECT
                                 or difflib.get_close_matches(namespace, [PROJECT], n=1, cutoff=0.75)):
        raise ConfigError(key, f"unknown namespace {namespace!r} (did you mean {PROJECT!r}?); "
                               f"mldeploy reads only `{PREFIX}` keys and {LOCATION_KEY}")


def _location(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not LOCATION_RE.fullmatch(value):
        raise ConfigError(LOCATION_KEY, f"must be one Azure region name such as westeurope or eastus2 "
                                        f"(got {shown(value)})")
    # ARM reads a location case- and space-insensitively ("West Europe" is westeurope); the programmatic
    # name is what lands in host names (<label>.<region>.cloudapp.azure.com) and resources.
    return value.replace(" ", "").lower()


def _cloud(value: Any) -> str:
    clouds = typing.get_args(StackSettings.model_fields["cloud"].annotation)
    if value is None:
        return "public"  # the provider's default
    if not isinstance(value, str) or value.lower() not in clouds:
        close = difflib.get_close_matches(str(value).lower(), clouds, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]}? " if close else ""
        raise ConfigError(ENVIRONMENT_KEY, f"{shown(value)} is not a cloud the azure-native provider knows: {hint}"
                                           f"use one of {', '.join(clouds)}")
    return value.lower()


def _has_secure_leaves(value: Any) -> bool:
    return any(isinstance(leaf, (SecureValue, Secret)) for leaf in leaves(value))


def decode_config_value(key: str, value: Any) -> Any:
    # The Pulumi CLI passes objects as JSON text; a stack file read by us gives them parsed.
    if isinstance(value, str) and value[:1] in "{[":
        try:
            # Strict as the stack file's YAML is (config/strict_yaml.py): a name written twice would
            # otherwise keep its last value silently, and NaN is no JSON number (RFC 8259).
            value = strict_json_loads(value)
        except NotJson as err:
            raise ConfigError(key, f"is not valid JSON: {err}") from None
        except json.JSONDecodeError:
            raise ConfigError(key, "is not valid JSON") from None
        except (RecursionError, ValueError):
            raise ConfigError(key, f"is not usable JSON (nested deeper than {MAX_DEPTH} levels, "
                                   "or a number too long)") from None
    elif key == f"{PREFIX}production" and value in ("true", "false"):
        value = value == "true"  # `pulumi config set production true` stores the string
    _check_depth(key, value)
    return value


def _check_depth(key: str, value: Any) -> None:
    # Iterative: a deep value must become this message, not a RecursionError further on.
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ConfigError(key, f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)


def _validate_field(name: str, value: Any, context: dict[str, Any], annotation: Any = None) -> Any:
    """One stack key's value by its StackSettings field's type, or by `annotation` (a section's entries)."""
    if annotation is None:
        annotation = StackSettings.model_fields[to_snake(name)].annotation
    try:
        return TypeAdapter(annotation).validate_python(value, context=context, strict=True, by_name=BY_NAME)
    except ValidationError as exc:
        raise _first_error(f"{PREFIX}{name}", exc, annotation) from None


def _parse_services(value: Any, context: dict[str, Any], models: Mapping[str, type]) -> dict[str, BaseModel]:
    key = f"{PREFIX}services"
    if not isinstance(value, dict):
        raise ConfigError(key, f"must be a mapping of service name -> settings, got {_kind(value)}")
    out = {}
    for name, body in value.items():
        where = f"{key}.{name}"
        if not isinstance(body, dict):
            raise ConfigError(where, f"must be a mapping, got {_kind(body)}")
        try:
            service = _service_adapter(tuple(models.values())).validate_python(body, context=context, by_name=BY_NAME)
        except ValidationError as exc:
            error = exc.errors(include_url=False)[0]
            if error["type"] in ("union_tag_not_found", "union_tag_invalid"):
                raise _target_error(where, body, models) from None
            _check_name(where, name)
            target = body["target"]
            raise _first_error(where, exc, models[target], tag=target) from None
        _check_name(where, name)
        out[name] = service
    return out


def _target_error(where: str, body: dict[str, Any], models: Mapping[str, type]) -> ConfigError:
    """A missing or unknown `target`; without one, a misspelt key (`targte: aks`) is the useful message."""
    target = body.get("target")
    if target is None:
        known = {a for cls in models.values() for a in _aliases(cls)}
        for key in body:
            if key not in known:
                return ConfigError(f"{where}.{key}", _unknown(str(key), known))
    allowed = ", ".join(models)
    got = "nothing" if target is None else shown(target)
    return ConfigError(f"{where}.target", f"must be one of {allowed}; got {got}")



# -- error rendering -------------------------------------------------------------------------

def _check_name(where: str, name: Any) -> None:
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise ConfigError(where, f"invalid name {shown(name)}: {NAME_RULE}")


def _first_error(prefix: str, exc: ValidationError, root: Any, tag: str | None = None) -> ConfigError:
    errors = exc.errors(include_url=False)
    if tag is not None:  # a discriminated union's error starts its location with the tag
        errors = [{**e, "loc": e["loc"][1:] if e["loc"][:1] == (tag,) else e["loc"]} for e in errors]
    # A typo shows as an unknown key *and* a missing one: the unknown key is the useful message.
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = [str(p) for p in err["loc"]]
    path = prefix
    for part in err["loc"]:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    kind = err["type"]
    got = err.get("input")
    if kind == "extra_forbidden":
        model = _model_at(root, loc[:-1])
        allowed = _aliases(model) if model else []
        moved = model.moved_keys.get(to_camel(loc[-1])) if model else None
        return ConfigError(path, _unknown(loc[-1], allowed, moved))
    if kind == "missing":
        return ConfigError(path, "is required")
    if kind == ENV_VARIABLE_ERROR:  # one variable of an environment mapping: its own key (config/base.py env_error)
        path += f".{err['ctx']['variable']}"
        return ConfigError(path, err["ctx"]["message"].replace("<this key>", path))
    if loc and loc[-1] == "[key]":
        return ConfigError(".".join([prefix, *loc[:-2]]), f"invalid name {loc[-2]!r}: {NAME_RULE}")
    if kind == "string_pattern_mismatch" and (err.get("ctx") or {}).get("pattern") == f"^{NAME_RE.pattern}$":
        # A name as a value (registeredName): the rule in words, as for a name as a key, not the regex.
        return ConfigError(path, f"invalid name {shown(got)}: {NAME_RULE}")
    message = _humanize(err["msg"]).replace("<this key>", path)
    if kind not in {"value_error", "assertion_error"}:
        kind_of = {dict: "a mapping", list: "a list"}.get(type(got))
        if kind_of is None and _holds_secrets(_model_at(root, loc)):
            # `keys: <the key>`, `tls: <a PEM text>`: the value written in the mapping's place may be
            # the secret itself, so it is not repeated.
            what = {str: "a string", bool: "a boolean", int: "a number", float: "a number"}.get(type(got), "a value")
            kind_of = f"{what}, not shown: it may be the secret itself"
        message += f" (got {kind_of or shown(got)})"
        if kind == "list_type" and isinstance(got, (str, int, float)) and not isinstance(got, bool):
            message += f"; a list of one is written [{got}]"  # YAML's `models: diabetes` is a string
    return ConfigError(path, message)


def _humanize(msg: str) -> str:
    msg = msg.removeprefix("Value error, ")
    msg = msg.replace("Input should be", "must be")
    # pydantic's words for Python types, in YAML's words.
    msg = re.sub(r" or instance of \w+", "", msg)
    msg = msg.replace("valid dictionary", "mapping").replace("valid list", "list")
    return msg[:1].lower() + msg[1:] if msg else msg


def _model_at(root: Any, loc: list[str]) -> type[BaseModel] | None:
    """Walk a type along an error location to the model whose keys were wrong."""
    current = root
    for part in [*loc, None]:
        current = _unwrap(current, part)
        if current is None:
            return None
        if part is None:
            break
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = next((f for n, f in current.model_fields.items() if (f.alias or n) == part), None)
            if field is None:
                return None
            current = field.annotation
        elif typing.get_origin(current) in (dict, list):
            current = typing.get_args(current)[-1]
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _holds_secrets(model: type[BaseModel] | None) -> bool:
    """Whether `model` has a secret field (a service's keys, its TLS certificate and key)."""
    return model is not None and any(_unwrap(f.annotation, None) is Secret for f in model.model_fields.values())


def _unwrap(tp: Any, part: Any) -> Any:
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
            tp = models[0] if models else args[0]
        else:
            return tp


def _aliases(model: type[BaseModel]) -> list[str]:
    return [f.alias or n for n, f in model.model_fields.items()]


def _unknown(key: str, allowed: Iterable[str], moved: str | None = None) -> str:
    """`moved`: where the key lives in this model (Settings.moved_keys), said instead of a spelling hint."""
    allowed = sorted(allowed)
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f" ({moved})" if moved else f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown key {key!r}{hint}; allowed: {', '.join(allowed)}"


def _kind(value: Any) -> str:
    return type(value).__name__

