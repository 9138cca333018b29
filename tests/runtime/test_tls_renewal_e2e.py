"""A certificate renewed in place (cert-manager rewrites its Secret; the kubelet swaps the mounted
files atomically) is served by the running nginx, without a restart: AKS's cert-manager gateway."""
from __future__ import annotations

import os
import shutil
import ssl
import tempfile
from pathlib import Path

import pytest

from mldeploy.runtime.processes import free_port
from tests.runtime.stand_in_gateway import running_gateway
from tests.runtime.test_tls_e2e import self_signed

pytestmark = pytest.mark.slow


def _renew(folder: Path, cert: str, key: str) -> None:
    # Like the kubelet's atomic writer: new files appear at once, never half-written.
    for name, text in (("tls.key", key), ("tls.crt", cert)):
        (folder / f".{name}.new").write_text(text)
        (folder / f".{name}.new").chmod(0o644)  # a throwaway key, readable by nginx's workers
        os.replace(folder / f".{name}.new", folder / name)


def _served(port: int) -> str:
    return ssl.get_server_certificate(("127.0.0.1", port), timeout=5)


def _normal(pem: str) -> str:
    return ssl.DER_cert_to_PEM_cert(ssl.PEM_cert_to_DER_cert(pem))


@pytest.mark.parametrize("reload", [True, False])
def test_a_renewed_certificate_is_served_without_a_restart_only_with_tls_reload(tmp_path, reload):
    # With tls_reload the nginx *worker* opens the files. Run as root (as here), the workers are
    # `nobody` and cannot enter pytest's private tmp folder: the throwaway files go to an open
    # one. (On AKS the whole gateway runs as one non-root user in the Secret's group.)
    tls = Path(tempfile.mkdtemp(prefix="mldeploy-tls-"))
    tls.chmod(0o755)
    old, new = self_signed("scoring.example.com"), self_signed("scoring.example.com")
    _renew(tls, *old)
    try:
        with running_gateway(tmp_path, [free_port()], tls_cert_file=str(tls / "tls.crt"),
                             tls_key_file=str(tls / "tls.key"), tls_reload=reload) as port:
            assert _normal(_served(port)) == _normal(old[0])
            _renew(tls, *new)
            served = _normal(_served(port))
        if reload:
            assert served == _normal(new[0]), "tls_reload: the next handshake must serve the renewed certificate"
        else:
            assert served == _normal(old[0]), "without tls_reload nginx keeps the certificate read at start"
    finally:
        shutil.rmtree(tls)
