"""Third-party images (the gateway's nginx, the model-data collector) copied into the workspace
registry once per stack, whichever targets use them: ACI and AKS pull every container by digest,
with AcrPull, from one place - never from Docker Hub at run time."""
from __future__ import annotations

import pulumi

from mldeploy.components.mirrored_image import MirroredImage
from mldeploy.plan.mirrors import mirror_repository
from mldeploy.targets.foundation import Foundation, build_dir

def mirrored(source: str, f: Foundation) -> pulumi.Output[str]:
    """The registry digest of `source` copied into the workspace registry (declared once)."""
    mirrors = f.run.mirrors  # per program run
    if source not in mirrors:
        slug = mirror_repository(source).split("/", 1)[1].replace(":", "-").replace(".", "-")
        mirrors[source] = MirroredImage(
            f"mirror-{slug}", source=source, context_dir=build_dir(f.settings, f.project_root) / f"mirror-{slug}",
            registry_login_server=f.registry.registry_login_server, registry_password=f.registry.push_password)
    return mirrors[source].repo_digest
