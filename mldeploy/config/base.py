"""Shared building blocks of the typed stack config: the strict base model and the Secret type."""
from __future__ import annotations

import hashlib
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic.alias_generators import to_camel
from pydantic.functional_validators import PlainValidator

from mldeploy.nested import leaves

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _control_free(value: Any) -> None:
    """Raise for a control character (newline, tab, NUL, ESC...) in any string of `value`."""
    if any(isinstance(item, str) and _CONTROL.search(item) for item in leaves(value, keys=True)):
        raise ValueError("may not hold control characters (newline, tab, NUL, ...): values "
                         "land in Dockerfiles, nginx.conf, manifests and shell lines")


class Settings(BaseModel):
    """Base of every config object: camelCase keys, unknown keys refused, immutable, strict types
    (`"no"` is not a boolean, `true` is not a number, NaN is not a size)."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        str_strip_whitespace=True,
        strict=True,
        allow_inf_nan=False,
    )

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        # The one rule against injection into every generated format: no config string (secrets
        # aside - PEM text has newlines, and secrets are never rendered as text) holds a control
        # character, so none can start a new Dockerfile instruction, nginx directive, YAML line
        # or shell command. Each renderer still quotes what its format needs quoted.
        _control_free(value)
        return value


class Secret:
    """A secret config value. Its text never shows in repr/str; components wrap it with
    `pulumi.Output.secret` the moment it enters the program."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret([secret])"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class SecureValue:
    """A `secure:` leaf read from a stack file by `synth`. The ciphertext cannot be decrypted
    offline, so a stable placeholder stands in for it (it is masked in every output anyway)."""

    __slots__ = ("ciphertext",)

    def __init__(self, ciphertext: str):
        self.ciphertext = ciphertext

    def placeholder(self) -> str:
        return "synth-secret-" + hashlib.sha256(self.ciphertext.encode()).hexdigest()[:16]


def _to_secret(value: Any, info: ValidationInfo) -> Secret:
    if isinstance(value, Secret):
        return value
    if isinstance(value, SecureValue):
        return Secret(value.placeholder())
    if isinstance(value, str):
        # From the Pulumi CLI a structured key holding a `secure:` leaf arrives decrypted, with
        # the whole top-level key marked secret; a plain value under a non-secret key is a
        # secret written in clear text, which we refuse.
        if (info.context or {}).get("secret_key"):
            return Secret(value)  # only a Pulumi config without its stack file (see load.py)
        raise ValueError(
            "must be a secret, not plain text: set it with "
            "`pulumi config set --secret --path '<this key>' <value>`"
        )
    raise ValueError("must be a secret string (a `secure:` value)")


SecretStr = Annotated[Secret, PlainValidator(_to_secret)]

Name = Annotated[
    str,
    Field(pattern=r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$"),
]
"""A resource name chosen by the user: lowercase letters, digits and '-', 2 to 32 characters,
starting with a letter (the strictest common rule across Azure ML and Kubernetes names)."""


# The reference grammar of distribution/reference (github.com/distribution/reference,
# regexp.go): [host[:port]/]path[:tag][@digest]. Anything else in a FROM line or a pod spec is
# refused here, so no value can smuggle a second Dockerfile instruction or YAML key.
_IMAGE_REF = re.compile(
    r"^(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*"
    r"(?::[0-9]+)?)/)?"
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
    r"(?::[\w][\w.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$"
)


def _image_ref(value: str) -> str:
    if len(value) > 255 or not _IMAGE_REF.fullmatch(value):
        raise ValueError("must be a container image reference such as `python:3.11-slim` or "
                         "`myregistry.azurecr.io/team/base:1.0@sha256:<digest>`")
    return value


ImageRef = Annotated[str, AfterValidator(_image_ref)]
"""A container image reference (what FROM and a pod's `image:` accept)."""

# Azure tag rules (learn.microsoft.com/azure/azure-resource-manager/management/tag-resources,
# "Limitations"; the ARM SDKs' `tags` docs: keys cannot contain < > % & \ ? /): names at most
# 512 characters, values at most 256. `mldeploy-` is ours: the policy pack reads those markers
# (tags.py), so a user tag may not set or fake them.
_TAG_FORBIDDEN = set('<>%&\\?/')
RESERVED_TAG_PREFIXES = ("mldeploy-",)


def _tags(value: dict[str, str]) -> dict[str, str]:
    for name, text in value.items():
        if not name or len(name) > 512 or _TAG_FORBIDDEN & set(name):
            raise ValueError(f"tag name {name!r}: 1-512 characters, none of < > % & \\ ? /")
        if name.lower().startswith(RESERVED_TAG_PREFIXES):
            raise ValueError(f"tag name {name!r} is reserved (prefixes: {', '.join(RESERVED_TAG_PREFIXES)}): "
                             "mldeploy sets its own markers")
        if len(text) > 256:
            raise ValueError(f"tag {name!r}: values are at most 256 characters")
    return value


Tags = Annotated[dict[str, str], AfterValidator(_tags)]
"""User tags for Azure resources: Azure's limits, and mldeploy's own markers reserved."""

ResourceGroupName = Annotated[str, Field(pattern=r"^[-\w.()]{0,89}[-\w()]$")]
"""An Azure resource group name: 1-90 letters, digits, '_', '-', '.', '(' and ')', not ending in '.'."""
