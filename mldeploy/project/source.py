"""Where the running mldeploy was installed from, and the requirements.txt line that installs the
same mldeploy into a project's virtualenv (`pulumi install`, CI).

pip records a direct install (a wheel or sdist file or URL, a VCS checkout, a folder) in the
distribution's `direct_url.json` (PEP 610, "Recording the Direct URL Origin of installed
distributions"); an install from a package index has none. `importlib.metadata` reads it; the
few keys we need are read here rather than through pip's internal model (`pip._internal` is not
an API).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlparse

DISTRIBUTION = "mldeploy"
VENDOR = "vendor"  # the project folder a local wheel or sdist is copied into


@dataclass(frozen=True)
class MldeploySource:
    """The requirements.txt line for mldeploy, why it reads so, and a file to copy into the project."""

    line: str
    comment: str
    copy_from: Path | None = None  # a local wheel/sdist that the line names under vendor/

    @property
    def vendored(self) -> str | None:
        return f"{VENDOR}/{self.copy_from.name}" if self.copy_from is not None else None


def source_from(direct_url: dict | None, version: str) -> MldeploySource:
    """The line for an mldeploy `version` installed as `direct_url` says (None: from an index)."""
    if direct_url is None:
        return MldeploySource(f"{DISTRIBUTION}=={version}", "the version that wrote this project, from your package index")
    url = direct_url.get("url", "")
    subdirectory = direct_url.get("subdirectory")
    fragment = f"#subdirectory={subdirectory}" if subdirectory else ""
    if "vcs_info" in direct_url:
        vcs = direct_url["vcs_info"]
        line = f"{DISTRIBUTION} @ {vcs.get('vcs', 'git')}+{url}@{vcs.get('commit_id', '')}{fragment}"
        return MldeploySource(line, "the commit of the repository this mldeploy was installed from")
    parsed = urlparse(url)
    local = Path(unquote(parsed.path)) if parsed.scheme == "file" else None
    if "archive_info" in direct_url and local is None:
        return MldeploySource(f"{DISTRIBUTION} @ {url}", "the wheel or sdist URL this mldeploy was installed from")
    if "archive_info" in direct_url and local is not None and local.is_file():
        return MldeploySource(
            f"./{VENDOR}/{local.name}",
            f"the file this mldeploy was installed from, copied into {VENDOR}/ so `pulumi install` and CI install "
            f"the same: commit it, or replace this line with a URL of it (mldeploy @ https://.../{local.name}) "
            f"or of the repository (mldeploy @ git+https://.../mldeploy@<tag>)",
            copy_from=local)
    # A folder (a checkout, editable or not) or a file that is gone: right on this machine only.
    return MldeploySource(
        f"{DISTRIBUTION} @ {url}{fragment}",
        "where this mldeploy was installed from, on this machine only (CI cannot read it): build a wheel "
        f"(pip wheel --no-deps -w dist <mldeploy checkout>), put it in {VENDOR}/ and name it here "
        f"(./{VENDOR}/<the wheel>), or name a URL (mldeploy @ https://... or git+https://...@<tag>)")


def installed_source() -> MldeploySource:
    """The line for the mldeploy this process runs."""
    dist = metadata.distribution(DISTRIBUTION)
    text = dist.read_text("direct_url.json")
    return source_from(json.loads(text) if text else None, dist.version)
