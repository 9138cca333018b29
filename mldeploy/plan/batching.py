"""An image's batching (`images.<name>.batching`, mldeploy/scoring/scoring_batcher.py): the checks
that need the sample request's content and the services using the image, and the scorer's
environment that carries the settings into every target's container (the image's Dockerfile) and
the local target's scorer process. Pure: settings and file bytes in, errors and values out."""
from __future__ import annotations

import json
from pathlib import Path

from mldeploy import PROJECT
from mldeploy.config.batching import BatchingSettings
from mldeploy.config.errors import ConfigError
from mldeploy.config.service import ServiceSettings
from mldeploy.config.stack import StackSettings
from mldeploy.scoring.scoring_batcher import INPUT_ENV, MAX_BATCH_ENV, MAX_LATENCY_ENV, SAMPLE_ENV

SAMPLE_FILE = "batching-sample.json"  # the image's sampleRequest, next to the scorer host


def check_batching(settings: StackSettings, project_root: Path) -> None:
    """ConfigError for an image whose batching cannot work: its sampleRequest has no non-empty
    `input` array to check the contract on, or a service of the image times out before a request
    may have waited `maxLatencyMs` for others."""
    for name, image in sorted(settings.images.items()):
        if image.batching is None:
            continue
        key = f"{PROJECT}:images.{name}.batching"
        check_sample(key, image.batching, (project_root / image.sample_request).read_bytes(), image.sample_request)
        for service_name, service in sorted(settings.services.items()):
            if not isinstance(service, ServiceSettings):  # an endpoint's deployments time out in Azure
                continue
            timeout_ms = service.scoring_timeout_ms
            if service.image == name and image.batching.max_latency_ms >= timeout_ms:
                raise ConfigError(f"{key}.maxLatencyMs", f"{image.batching.max_latency_ms} is not below service "
                                                         f"{service_name!r}'s scoringTimeoutMs ({timeout_ms}): a "
                                                         "request could time out waiting for others")


def check_sample(key: str, batching: BatchingSettings, sample: bytes, path: str) -> None:
    """The sample must be a JSON object whose `input` is a non-empty array: the scorer runs it
    alone and twice over to check the contract before it serves."""
    try:
        body = json.loads(sample)
    except ValueError:
        body = None  # JsonFile already refused it; kept for direct callers
    if not isinstance(body, dict) or not isinstance(body.get(batching.input), list) or not body[batching.input]:
        raise ConfigError(f"{key}.input", f"the image's sampleRequest ({path}) must be a JSON object whose "
                                          f"{batching.input!r} is a non-empty array of rows: the scorer checks "
                                          "run()'s batching contract on it before it serves")


def batching_env(batching: BatchingSettings | None, sample_path: str) -> tuple[tuple[str, str], ...]:
    """The scorer's environment for `batching` (nothing without it)."""
    if batching is None:
        return ()
    return ((MAX_BATCH_ENV, str(batching.max_batch_size)), (MAX_LATENCY_ENV, str(batching.max_latency_ms)),
            (INPUT_ENV, batching.input), (SAMPLE_ENV, sample_path))
