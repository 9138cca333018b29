"""Where a third-party image (the gateway's nginx, the model-data collector) lands in the workspace
registry: one repository:tag per image name and tag, whatever registry it came from. The copy is
declared once per repository:tag (mldeploy/targets/mirrors.py), so two sources that land on one
would overwrite each other: the load-time check (`check_mirrors`, a rule of plan/stack.py) refuses them."""
from __future__ import annotations

import re

from pydantic.alias_generators import to_snake

from mldeploy import PROJECT
from mldeploy.config.errors import ConfigError


def mirror_repository(source: str) -> str:
    """`nginx:1.27.4-alpine@sha256:...` -> `mirror/nginx:1.27.4-alpine` (the copy gets its own digest)."""
    name, _, tag = source.partition("@")[0].rpartition("/")[-1].partition(":")
    return f"mirror/{re.sub(r'[^a-z0-9._-]', '-', name.lower())}:{tag or 'latest'}"


def check_mirrors(name: str, service, stack) -> None:
    """The images service `name` copies into the workspace registry (its `mirror_claims`) land as
    `mirror/<name>:<tag>`, one copy per repository:tag for the whole stack: another source landing
    on the same one (another registry's `nginx:1.27.4-alpine`, another digest of that tag) would be
    declared twice and overwrite the first service's image. Named at the image written in the file
    (a default clashes only with a written one)."""
    for key, source in service.mirror_claims():
        if not key or to_snake(key) not in service.model_fields_set:
            continue
        target = mirror_repository(source)
        for other, entry in sorted(stack.services.items()):
            for other_key, other_source in entry.mirror_claims():
                if (other, other_key) != (name, key) and other_source != source and mirror_repository(other_source) == target:
                    whose = f"services.{other}.{other_key}" if other_key else f"the default gateway of services.{other}"
                    raise ConfigError(f"{PROJECT}:services.{name}.{key}",
                                      f"{source} is copied into the workspace registry as {target}, as is {other_source} "
                                      f"({whose}): one repository:tag holds one image; use the same image, or "
                                      "another tag")
