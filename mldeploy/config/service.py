"""Settings shared by every HTTP scoring service: the gateway in front of the scorer and the
scorer's own knobs. Each target's settings extend `ServiceSettings` in its package (mldeploy/targets/)."""
from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator, model_validator

from mldeploy.config.base import SecretScorerEnvVars, Secret, SecretStr, Settings, listed_twice
from mldeploy.config.files import JsonFile
from mldeploy.contract import KEY_RE, ORIGIN_RE


class KeySettings(Settings):
    """Primary and secondary auth keys. Both valid at once, so keys rotate without downtime.
    Omitted: the deployment generates them (pulumi-random, kept as secrets)."""

    primary: SecretStr = Field(description="primary key (`Authorization: Bearer <key>`), a `secure:` value")
    secondary: SecretStr = Field(description="secondary key, valid at the same time (rotation)")

    @field_validator("primary", "secondary")
    @classmethod
    def _safe_key(cls, value: Secret) -> Secret:
        # The gateway puts keys into an nginx map: a plain token alphabet keeps that exact.
        if not KEY_RE.match(value.reveal()):
            raise ValueError("a key must be 16-256 characters of A-Z a-z 0-9 . _ ~ + / = -")
        return value

    @model_validator(mode="after")
    def _two_keys(self):
        # Two keys exist so that one can be rotated while the other serves; one value twice (the
        # same `secure:` ciphertext pasted into both) leaves nothing to rotate to.
        if self.primary == self.secondary:
            raise ValueError("primary and secondary are the same secret: two keys exist so one can be rotated "
                             "while the other stays valid; set two different values")
        return self


def _origin_key(origin: str) -> str:
    """An origin as browsers compare it: lower case, the scheme's default port written out."""
    lowered = origin.lower()
    if lowered == "*" or lowered.count(":") == 2:
        return lowered
    return lowered + {"https": ":443", "http": ":80"}.get(lowered.split(":", 1)[0], "")


class CorsSettings(Settings):
    """Browser origins allowed to call the service (the guide: CORS unsupported; ours: off
    unless listed). An origin is `scheme://host[:port]`; `*` allows any."""

    allowed_origins: list[Annotated[str, Field(pattern=ORIGIN_RE.pattern)]] = Field(
        min_length=1, description="origins (`https://app.example.com`) allowed by CORS; `*` allows any")

    @field_validator("allowed_origins")
    @classmethod
    def _each_origin_once(cls, origins: list[str]) -> list[str]:
        # One origin written twice: case aside, and with or without its scheme's default port (RFC 6454:
        # an origin is scheme, host and port, the port defaulting to the scheme's, 443 for https, 80 for http).
        twice = listed_twice(origins, _origin_key)
        if twice is not None:
            raise ValueError(f"origin {twice!r} is listed twice (origins compare case-insensitively, and "
                             "https://host is https://host:443)")
        if "*" in origins and len(origins) > 1:
            raise ValueError("'*' allows any origin: list it alone, or list the origins without it")
        for origin in origins:
            port = origin.rsplit(":", 1)[1] if origin.count(":") == 2 else None
            if port is not None and not 0 < int(port) <= 65535:
                raise ValueError(f"origin {origin!r}: port {port} is not a TCP port (1-65535)")
        return origins


class TlsSettings(Settings):
    """TLS termination at the gateway: a PEM certificate + key from secret config."""

    certificate: SecretStr = Field(description="PEM certificate chain, a `secure:` value")
    key: SecretStr = Field(description="PEM private key, a `secure:` value")

    @model_validator(mode="after")
    def _distinct(self):
        if self.certificate == self.key:
            raise ValueError("certificate and key are the same secret: the certificate chain and the private "
                             "key are two different PEM texts")
        return self


class TargetSettings(Settings):
    """What the shared code may ask any service's settings, whatever its target (each target's
    model answers for itself; nothing probes for the attributes one target happens to have).
    The fields, `target` among them, are each target's own (mldeploy/targets/<name>/)."""

    @property
    def in_azure(self) -> bool:
        """False for a service that runs on this machine only."""
        return True

    @property
    def tag_image(self) -> str | None:
        """The image whose model(s) every resource of the service is tagged with (None: no one image)."""
        return None

    @property
    def ingress_serves_https(self) -> bool:
        """True where the platform's own ingress answers HTTPS only, whatever the gateway does."""
        return False

    @property
    def tls_follows_stack(self) -> bool:
        """True where the stack decides TLS (on in production and wherever a certificate is
        configured, `tlsEnabled` overriding: plan/tls.py tls_on); else on exactly with `tls`."""
        return False

    def images_built(self) -> set[str]:
        """The images the program builds and pushes for this service."""
        return set()

    def image_references(self) -> list[tuple[str, str]]:
        """(key under `services.<name>.`, image name) for every image the service names."""
        return []

    def secret_env_names(self) -> list[str]:
        """The names of its own `environmentVariables` that are `secure:` values (plan/secret_env.py)."""
        return []

    def cluster_used(self) -> str | None:
        """The entry of `clusters` the service runs on, if any."""
        return None

    def attached_compute(self) -> tuple[str, str] | None:
        """(cluster, namespace) of the Azure ML Kubernetes compute the service attaches its cluster as, if any."""
        return None

    def endpoint_name_claim(self, name: str, stack: str, resource_group: str) -> tuple[str, str] | None:
        """(the key under `services.<name>` that sets it, or "" when derived; the name) of the Azure ML
        endpoint the service creates, if any: endpoint names are unique per region."""
        return None

    def deployments_by_name(self) -> dict:
        """Its online deployments by name (an endpoint's blue/green), none for a single scorer."""
        return {}

    def autoscale_load(self):
        """The load its replicas are sized for (`expectedLoad`: synth suggests min/max), if it autoscales on one."""
        return None

    def images_built_in_azure(self) -> set[str]:
        """The images whose environment Azure ML builds from their conda file."""
        return set()

    def dns_label_claim(self) -> tuple[str, str, str] | None:
        """(key under `services.<name>.`, its DNS zone, the label) of the public DNS label it sets, if any
        (labels are unique per zone and region: config/references.py)."""
        return None

    def host_name_claim(self) -> tuple[str, str] | None:
        """(key under `services.<name>.`, the DNS name) clients use to reach it, when the stack sets one
        (one name reaches one service, whatever the targets: config/references.py)."""
        return None

    def mirror_claims(self) -> list[tuple[str, str]]:
        """(key under `services.<name>.`, or "" for a default; the image) of each third-party image it
        copies into the workspace registry (targets/mirrors.py; one source per repository:tag)."""
        return []


class ServiceSettings(TargetSettings):
    """What every scoring service declares: which image, how big, how it is protected."""

    image: str = Field(description="name of an entry in `images`")
    auth_enabled: bool = Field(True, description="key auth at the gateway (guide: `auth_enabled`); 401 without a valid key")
    keys: KeySettings | None = Field(None, description="primary and secondary keys; omitted: generated and kept secret")
    tls: TlsSettings | None = Field(None, description="TLS termination at the gateway (guide: TLS)")
    cors: CorsSettings | None = Field(None, description="CORS (the guide: unsupported; here: off unless set)")
    cpu_cores: float = Field(1.0, gt=0, le=64, description="CPU cores (guide: `cpu_cores`)")
    memory_gb: float = Field(1.0, gt=0, le=256, description="memory in GB (guide: `memory_gb`)")
    scoring_timeout_ms: int = Field(60_000, ge=100, le=300_000,
                                    description="a request running longer gets 504 (guide: `scoring_timeout_ms`)")
    max_request_body_mb: float | None = Field(
        None, gt=0, le=1024, description="larger request bodies get 413; must fit the scorer's memory: workers × "
        "(160 MB + 10 × body) ≤ memory; omitted: the largest that fits, at most 100")
    worker_count: int | None = Field(None, ge=1, le=64, description="scorer worker processes; omitted: chosen from the cores")
    app_insights_enabled: bool = Field(False, description="send the scorer's logs and requests to Application "
                                       "Insights (guide: `enable_app_insights`)")
    sample_request: JsonFile | None = Field(None, description="JSON request for the smoke test and "
                                                "`mldeploy test`; omitted: the image's `sampleRequest`")
    environment_variables: SecretScorerEnvVars = Field(
        default_factory=dict, description="environment variables of the scorer, over its image's "
        "`environmentVariables` (a name set in both: this value); strings, a secret only as a `secure:` value (aci, aks, "
        "fpga, containerapp, local: docs/scoring.md), no names mldeploy sets")

    @property
    def tag_image(self) -> str | None:
        return self.image

    def images_built(self) -> set[str]:
        return {self.image}

    def image_references(self) -> list[tuple[str, str]]:
        return [("image", self.image)]

    def secret_env_names(self) -> list[str]:
        return sorted(name for name, value in self.environment_variables.items() if isinstance(value, Secret))

    @property
    def scorer_memory_gb(self) -> float:
        """Memory of the scorer's container."""
        return self.memory_gb

    def default_workers(self, requests_per_worker: int = 1) -> int:
        """The scorer's workers when `workerCount` is omitted: one per core (whatever one worker
        takes at once: the cores bound how many run() calls run in parallel)."""
        return max(1, int(self.cpu_cores))

    def admitted_per_replica(self) -> int | None:
        """Requests one replica's gateway takes at once before it answers 503; None: no cap (they
        queue in the gateway and the scorer's socket)."""
        return None

    @model_validator(mode="after")
    def _keys_need_auth(self):
        if self.keys is not None and not self.auth_enabled:
            raise ValueError("keys are set but authEnabled is false: remove keys or enable auth")
        return self

    @model_validator(mode="after")
    def _keys_are_not_tls(self):
        # One `secure:` ciphertext pasted as an auth key and as the TLS certificate or private key: a key
        # clients send in every request would be the certificate everyone sees, or the private key itself.
        if self.keys is not None and self.tls is not None:
            for key_name, key in (("primary", self.keys.primary), ("secondary", self.keys.secondary)):
                for tls_name, value in (("certificate", self.tls.certificate), ("key", self.tls.key)):
                    if key == value:
                        raise ValueError(f"keys.{key_name} and tls.{tls_name} are the same secret: an auth key is "
                                         "sent by clients with every request, the TLS certificate and key are "
                                         "another value; set a key of its own")
        return self
