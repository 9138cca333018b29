"""Synth artifact: each local/ACI service's gateway config in `gateway/<service>/nginx.conf`,
exactly the text the program declared (in the resources it sits in a secret volume or upload,
masked); nothing is rendered again here. The keys map is secret and never written."""
from __future__ import annotations

from pathlib import Path

from mldeploy.synth.run import SynthResult


def write_gateway_configs(result: SynthResult, out: Path) -> None:
    for name, conf in sorted(result.gateway_confs.items()):
        folder = out / "gateway" / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "nginx.conf").write_text(conf, encoding="utf-8")
