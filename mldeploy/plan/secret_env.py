"""Where a `secure:` environment variable of the scorer may go (config/base.py SecretScorerEnvVars).

Each target that keeps it as its platform keeps secrets takes it: ACI (a container's `secureValue`),
AKS and FPGA (a Kubernetes Secret, the container's `valueFrom.secretKeyRef`), Container Apps
(`configuration.secrets`, the container's `secretRef`) and the local target (the scorer's process
environment, never a file). The others would carry it as plain text, and are refused:

- IoT Edge: a module's environment is its createOptions `Env`, plain text in the deployment manifest
  IoT Hub stores and every device reads ("createOptions ... Env" of the module's settings,
  learn.microsoft.com/azure/iot-edge/how-to-use-create-options); there is no secret field.
- managed / kubernetes-endpoint: an online deployment's `environmentVariables` are plain strings in
  its ARM properties; Azure ML's own secret injection is a `${{keyvault:...}}` reference in the
  deployment's environmentVariables, resolved by the endpoint's identity ("Secret injection in online
  endpoints", learn.microsoft.com/azure/machine-learning/concept-secret-injection), which mldeploy
  already takes there (targets/online_endpoint/settings.py SECRET_REFERENCE).
"""
from __future__ import annotations

import os
from typing import Any, Iterable, Mapping

from mldeploy.config.base import Secret
from mldeploy.config.errors import ConfigError


def secret_names(env: dict[str, Any]) -> list[str]:
    return sorted(name for name, value in env.items() if isinstance(value, Secret))


def _refusal(key: str, name: str, target: Any, user: str, targets: list[Any]) -> ConfigError:
    why = target.secret_env_instead or f"target {target.name} has no secret field for the scorer's environment"
    able = ", ".join(t.name for t in targets if t.secret_env)
    return ConfigError(f"{key}.environmentVariables.{name}",
                       f"a `secure:` value runs only on the targets {able}, not on {user} (target {target.name}): {why}")


def check_secret_env(stack: Any, targets: Iterable[Any]) -> None:
    """A `secure:` variable of a service or of an image used where it would be plain text: refused
    (each target says in the table whether it keeps it as a secret: Target.secret_env)."""
    targets = list(targets)
    users: dict[str, list[tuple[Any, str]]] = {}
    for target in targets:
        for entry_name, entry in sorted(target.entries(stack).items()):
            where = f"services.{entry_name}" if target.is_service else f"{target.section}.{entry_name}"
            secrets = entry.secret_env_names() if target.is_service else []
            if secrets and not target.secret_env:
                raise _refusal(f"mldeploy:{where}", secrets[0], target, where, targets)
            for key, image in entry.image_references():
                users.setdefault(image, []).append((target, f"{where}.{key}"))
    for image_name, image in sorted(stack.images.items()):
        secrets = secret_names(image.environment_variables)
        for target, user in users.get(image_name, []) if secrets else []:
            if not target.secret_env:
                raise _refusal(f"mldeploy:images.{image_name}", secrets[0], target, user, targets)


def is_secret(value: Any) -> bool:
    """True for a `secure:` value of the scorer's environment (renderers write it as their platform's secret)."""
    return isinstance(value, Secret)


def secret_env_key(variant: str, name: str) -> str:
    """The key of a variant's `secure:` variable in the Kubernetes Secret of a service's variables."""
    return f"{variant}.{name}"


def serve_environment(environment: Iterable[tuple[str, Any]], service: str,
                      source: Mapping[str, str] | None = None) -> dict[str, str]:
    """The scorer's environment as `serve` runs it: a `secure:` variable's value from serve's own environment
    (`source`, default os.environ): offline the stack file's ciphertext cannot be decrypted (only `pulumi up`
    does), and the value goes into the scorer process's environment only, never into a file."""
    source = os.environ if source is None else source
    out: dict[str, str] = {}
    for name, value in environment:
        if is_secret(value):
            if not source.get(name):
                raise ValueError(f"service {service!r}: environmentVariables.{name} is a `secure:` value, which only "
                                 f"`pulumi up` decrypts: set it in the shell that runs serve (`read -rs {name} && "
                                 f"export {name}`); serve passes it to the scorer's environment and writes it to no file")
            out[name] = source[name]
        else:
            out[name] = value
    return out
