"""Synth artifact: each local/ACI service's gateway config in `gateway/<service>/nginx.conf`,
rendered exactly as the component renders it. The keys map is secret and never written."""
from __future__ import annotations

from pathlib import Path

from mldeploy.render.gateway import render_nginx_conf
from mldeploy.synth.run import SynthResult
from mldeploy.synth.write import register_writer


def _spec_makers():
    from components.aci import aci_gateway_spec
    from components.local import local_gateway_spec

    return {"aci": aci_gateway_spec, "local": local_gateway_spec}


@register_writer
def write_gateway_configs(result: SynthResult, out: Path) -> None:
    makers = _spec_makers()
    for name, service in sorted(result.settings.services.items()):
        make = makers.get(service.target)
        if make is None:
            continue
        folder = out / "gateway" / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "nginx.conf").write_text(render_nginx_conf(make(service)), encoding="utf-8")
