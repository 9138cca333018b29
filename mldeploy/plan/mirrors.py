"""Where a third-party image (the gateway's nginx, the model-data collector) lands in the workspace
registry: one repository:tag per image name and tag, whatever registry it came from. The copy is
declared once per repository:tag (mldeploy/targets/mirrors.py), so two sources that land on one
would overwrite each other: the load-time check (mldeploy/targets/aks/checks.py) refuses them."""
from __future__ import annotations

import re


def mirror_repository(source: str) -> str:
    """`nginx:1.27.4-alpine@sha256:...` -> `mirror/nginx:1.27.4-alpine` (the copy gets its own digest)."""
    name, _, tag = source.partition("@")[0].rpartition("/")[-1].partition(":")
    return f"mirror/{re.sub(r'[^a-z0-9._-]', '-', name.lower())}:{tag or 'latest'}"
