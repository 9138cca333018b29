"""The config reference in docs/config-reference.md, generated from the settings classes (one
source of truth; a test keeps that file equal to this output)."""
from __future__ import annotations

import types
import typing
from typing import Any, Mapping

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from mldeploy.config.base import Secret
from mldeploy.config.stack import SECTIONS_FIELD, STACK_KEYS, StackSettings


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (typing.Union, types.UnionType):
        names = [_type_name(a) for a in args if a is not type(None)]
        return " \\| ".join(names)
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin is dict:
        value = args[1]
        if typing.get_origin(value) is typing.Annotated:
            value = typing.get_args(value)[0]
        if typing.get_origin(value) in (typing.Union, types.UnionType) and _nested_model(value):
            return "map of object"
        return f"map of {_type_name(value)}"
    if origin is list:
        return f"list of {_type_name(args[0])}"
    if tp is Secret:
        return "secret string"
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return "object"
    return {str: "string", int: "integer", float: "number", bool: "boolean"}.get(tp, getattr(tp, "__name__", str(tp)))


def _nested_model(tp: Any) -> type[BaseModel] | None:
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _nested_model(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType, list, dict):
        for arg in typing.get_args(tp):
            found = _nested_model(arg)
            if found:
                return found
        return None
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _default(field) -> str:
    if field.is_required():
        return "**required**"
    value = field.default
    if value is PydanticUndefined:
        value = field.default_factory() if field.default_factory else None
    if value is None or value in ({}, [], ""):
        return "—"
    if isinstance(value, BaseModel):
        return "—"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"


def _describe(field, name: str) -> str:
    text = (field.description or "").replace("|", "\\|").replace("\n", " ")
    if not text:
        raise ValueError(f"config field {name} has no description")
    return text


def _rows(model: type[BaseModel], prefix: str, skip: set[str] = frozenset()) -> list[str]:
    rows: list[str] = []
    for name, field in model.model_fields.items():
        key = field.alias or name
        if key in skip:
            continue
        path = f"{prefix}.{key}" if prefix else key
        rows.append(f"| `{path}` | {_type_name(field.annotation)} | {_default(field)} | {_describe(field, path)} |")
        nested = _nested_model(field.annotation)
        if nested is not None:
            inner = f"{path}.<name>" if typing.get_origin(field.annotation) is dict else path
            rows += _rows(nested, inner)
    return rows


def render_reference(service_models: Mapping[str, type], section_models: Mapping[str, type],
                     section_descriptions: Mapping[str, str]) -> str:
    """Markdown tables: the stack keys, then the settings of each service target. From the target
    table: `service_models`, target name -> model; `section_models`, a section's key -> its entries'
    model; `section_descriptions`, a section's key -> what it holds."""
    lines = [
        "Keys under the `mldeploy:` namespace of `stacks/Pulumi.<stack>.yaml`, plus",
        "`azure-native:location` (the Azure region; required unless every service is `local`; checked against",
        "the dated region table of its cloud, see `extraRegions`) and `azure-native:environment` (the",
        "provider's cloud: `public` (default), `usgovernment` or `china`; `managed`, `kubernetes-endpoint`",
        "and `batch` deploy to the public cloud only).",
        "`<name>` is a name you choose: 2-32 lowercase letters, digits and `-`. Paths are",
        "relative to the project root.",
        "",
        "| key | type | default | meaning |",
        "|---|---|---|---|",
    ]
    for name, field in StackSettings.model_fields.items():
        key = field.alias or name
        if name == SECTIONS_FIELD:  # each section target's stack key, in the table's order
            for section, model in section_models.items():
                lines.append(f"| `{section}` | {_type_name(dict[str, model])} | — | {section_descriptions[section]} |")
                lines += _rows(model, f"{section}.<name>")
            continue
        if key not in STACK_KEYS:
            continue
        lines.append(f"| `{key}` | {_type_name(field.annotation)} | {_default(field)} | {_describe(field, key)} |")
        nested = _nested_model(field.annotation)
        if nested is not None and key != "services":
            inner = f"{key}.<name>" if typing.get_origin(field.annotation) is dict else key
            lines += _rows(nested, inner)
    for target, cls in service_models.items():
        lines += ["", f"Service settings for `target: {target}` (`services.<name>.*`): {cls.__doc__.strip()}", "",
                  "| key | type | default | meaning |", "|---|---|---|---|"]
        lines += _rows(cls, "services.<name>")
    return "\n".join(lines) + "\n"


BEGIN, END = "<!-- BEGIN config-reference -->", "<!-- END config-reference -->"


def doc_with_reference(doc: str, service_models: Mapping[str, type], section_models: Mapping[str, type],
                       section_descriptions: Mapping[str, str]) -> str:
    """The doc's text with the reference section replaced by a freshly generated one."""
    head, rest = doc.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    reference = render_reference(service_models, section_models, section_descriptions)
    return f"{head}{BEGIN}\n# Config reference\n\n{reference}{END}{tail}"
