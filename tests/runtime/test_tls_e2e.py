"""TLS termination end to end: a throwaway self-signed certificate in the service's `tls`
settings, scorer + gateway started by LocalServer (as `serve` does), HTTPS on 127.0.0.1."""
from __future__ import annotations

import datetime
import ipaddress
import json

import joblib
import numpy as np
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mldeploy.config.base import Secret
from mldeploy.targets.local.settings import LocalServiceSettings
from mldeploy.runtime.processes import StartError
from mldeploy.runtime.local import LocalServer
from tests.runtime.conftest import DIABETES, _context, _diabetes_model, _serve
from tests.runtime.plans import plan_of

pytestmark = pytest.mark.slow
SAMPLE = {"data": [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]]}


def self_signed(host: str = "127.0.0.1") -> tuple[str, str]:
    """(certificate PEM, key PEM) for `host` (an IP or a DNS name), valid for a day; its own CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    try:
        san = x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        san = x509.DNSName(host)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([san]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem.decode()


@pytest.fixture(scope="module")
def tls_server(scoring_env, tmp_path_factory):
    """Diabetes behind the gateway with TLS; yields (server, path of the certificate = the CA)."""
    cert_pem, key_pem = self_signed()
    ca = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.write_text(cert_pem)
    service = LocalServiceSettings.model_validate({
        "target": "local", "image": "diabetes", "workerCount": 1,
        "tls": {"certificate": Secret(cert_pem), "key": Secret(key_pem)}})
    server = _serve("diabetes-tls", service, _context(DIABETES / "score.py", [_diabetes_model()]),
                    scoring_env, tmp_path_factory)
    yield server, str(ca)
    server.stop()


def test_https_with_the_primary_key_scores_like_the_model(tls_server, trained_model):
    server, ca = tls_server
    ep = server.endpoint()
    assert ep.scoringUri.startswith("https://127.0.0.1:"), ep.scoringUri
    r = requests.post(ep.scoringUri, json=SAMPLE, headers={"Authorization": f"Bearer {ep.primaryKey}"}, verify=ca)
    assert r.status_code == 200, r.text
    expected = joblib.load(trained_model).predict(np.asarray(SAMPLE["data"], dtype=float))
    np.testing.assert_allclose(r.json(), expected, rtol=1e-12)


def test_https_without_a_key_is_401_json(tls_server):
    server, ca = tls_server
    r = requests.post(server.endpoint().scoringUri, json=SAMPLE, verify=ca)
    assert r.status_code == 401 and r.json()["status"] == 401


def test_the_certificate_is_checked_not_just_encryption(tls_server):
    # Without our certificate as CA the client must refuse the connection.
    server, _ = tls_server
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(server.endpoint().swaggerUri)


def test_plain_http_to_the_tls_port_does_not_score(tls_server):
    server, _ = tls_server
    ep = server.endpoint()
    plain = ep.scoringUri.replace("https://", "http://", 1)
    r = requests.post(plain, json=SAMPLE, headers={"Authorization": f"Bearer {ep.primaryKey}"})
    # nginx answers a plain request on an ssl port with 400 and never forwards it.
    assert r.status_code == 400, f"plain HTTP on the TLS port got {r.status_code} {r.text[:200]}"
    assert "HTTPS" in r.text


def test_undecryptable_secure_tls_values_are_refused_before_anything_starts(scoring_env, tmp_path):
    # `serve` reads the stack file offline: a `secure:` certificate arrives as a placeholder.
    from mldeploy.config.base import SecureValue

    service = LocalServiceSettings.model_validate({
        "target": "local", "image": "diabetes",
        "tls": {"certificate": SecureValue("v1:AAAA"), "key": SecureValue("v1:BBBB")}})
    server = LocalServer(plan_of("diabetes", service), _context(DIABETES / "score.py", [_diabetes_model()]),
                         scoring_env, tmp_path / "run", port=0)
    with pytest.raises(StartError, match="tls.certificate.*PEM"):
        server.start(timeout=30)
    assert server.scorer is None and server.gateway is None, "nothing may start"


def test_tls_files_override_undecryptable_tls_settings_and_clients_trust_the_served_certificate(
        scoring_env, tmp_path):
    # What `serve --tls-cert/--tls-key` does: PEM files for a service whose `tls` is `secure:`
    # placeholders; a certificate for a production name, not for 127.0.0.1.
    from mldeploy.config.base import SecureValue
    from mldeploy.runtime.client import score

    cert_pem, key_pem = self_signed("scoring.example.com")
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    cert.write_text(cert_pem)
    key.write_text(key_pem)
    service = LocalServiceSettings.model_validate({
        "target": "local", "image": "diabetes", "workerCount": 1,
        "tls": {"certificate": SecureValue("v1:AAAA"), "key": SecureValue("v1:BBBB")}})
    server = LocalServer(plan_of("diabetes", service), _context(DIABETES / "score.py", [_diabetes_model()]),
                         scoring_env, tmp_path / "run", port=0, tls_files=(cert, key))
    ep = server.start(timeout=120)
    try:
        assert ep.scoringUri.startswith("https://") and ep.caFile == str(cert.resolve())
        body = json.dumps(SAMPLE).encode()
        reply = score(ep.scoringUri, ep.primaryKey, body, cafile=ep.caFile)
        assert reply.status == 200 and len(json.loads(reply.body)) == 2, reply.text()
        # Trust is real: default verification, or another certificate, is refused.
        assert score(ep.scoringUri, ep.primaryKey, body).status is None
        other = tmp_path / "other.crt"
        other.write_text(self_signed("scoring.example.com")[0])
        refused = score(ep.scoringUri, ep.primaryKey, body, cafile=str(other))
        assert refused.status is None and "CERTIFICATE_VERIFY_FAILED" in refused.error, refused.error
    finally:
        server.stop()
    # nginx read the key in place: no copy of it anywhere in the run folder.
    secret_line = key_pem.splitlines()[1]
    copies = [p for p in (tmp_path / "run").rglob("*") if p.is_file() and secret_line in p.read_text(errors="replace")]
    assert copies == []


def test_tls_files_that_do_not_belong_together_are_refused_before_anything_starts(scoring_env, tmp_path):
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    cert.write_text(self_signed()[0])
    key.write_text(self_signed()[1])
    service = LocalServiceSettings.model_validate({"target": "local", "image": "diabetes"})
    server = LocalServer(plan_of("diabetes", service), _context(DIABETES / "score.py", [_diabetes_model()]),
                         scoring_env, tmp_path / "run", port=0, tls_files=(cert, key))
    with pytest.raises(StartError, match=f"TLS key {key} does not fit certificate {cert}"):
        server.start(timeout=30)
    assert server.scorer is None and server.gateway is None, "nothing may start"
    cert.write_text("not a certificate")
    with pytest.raises(StartError, match=f"TLS file {cert} is not a PEM certificate"):
        server.start(timeout=30)


def test_a_service_the_plan_serves_over_tls_is_never_rehearsed_over_http(scoring_env, tmp_path):
    # plan/tls.py: a production AKS service with a cert-manager certificate answers HTTPS; the
    # local runtime reads that decision and, with no certificate file here, refuses to start.
    from mldeploy.targets.aks.settings import AksServiceSettings

    service = AksServiceSettings.model_validate({
        "target": "aks", "cluster": "c", "image": "diabetes", "hostName": "scoring.example.com",
        "certManager": {"issuer": "letsencrypt"}})
    server = LocalServer(plan_of("diabetes", service, production=True),
                         _context(DIABETES / "score.py", [_diabetes_model()]), scoring_env, tmp_path / "run", port=0)
    assert server.tls_enabled, "the plan's decision: HTTPS"
    with pytest.raises(StartError, match=r"serves HTTPS .*\(--tls-cert"):
        server.start(timeout=30)
