"""Shared building blocks of the typed stack config: the strict base model and the Secret type."""
from __future__ import annotations

import hashlib
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo
from pydantic.alias_generators import to_camel
from pydantic.functional_validators import PlainValidator


class Settings(BaseModel):
    """Base of every config object: camelCase keys, unknown keys refused, immutable."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        str_strip_whitespace=True,
    )


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
            return Secret(value)
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
