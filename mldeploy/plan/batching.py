"""An image's batching (`images.<name>.batching`, mldeploy/scoring/scoring_batcher.py): the checks
that need the sample request's content and the services using the image, the scorer's
environment that carries the settings into every target's container (the image's Dockerfile) and
the local target's scorer process, and the image's WorkerLoad (plan/scorer.py) that every
worker/limit rule counts with. Pure: settings and file bytes in, errors and values out."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from mldeploy import PROJECT
from mldeploy.config.batching import BatchingSettings
from mldeploy.config.errors import ConfigError
from mldeploy.config.service import ServiceSettings
from mldeploy.config.stack import StackSettings
from mldeploy.plan.scorer import UNBATCHED, WorkerLoad
from mldeploy.scoring.scoring_batcher import INPUT_ENV, MAX_BATCH_ENV, MAX_LATENCY_ENV, SAMPLE_ENV

SAMPLE_FILE = "batching-sample.json"  # the image's sampleRequest, next to the scorer host


def worker_load(batching: BatchingSettings | None) -> WorkerLoad:
    """How a worker of an image with `batching` takes requests: maxBatchSize at once, each waiting
    up to maxLatencyMs for the others; unbatched one, without waiting."""
    if batching is None:
        return UNBATCHED
    return WorkerLoad(requests=batching.max_batch_size, wait_ms=batching.max_latency_ms)


def image_loads(settings: StackSettings) -> dict[str, WorkerLoad]:
    """Each image's WorkerLoad, by image name."""
    return {name: worker_load(image.batching) for name, image in settings.images.items()}


def service_load(images: Mapping[str, Any], service: ServiceSettings) -> WorkerLoad:
    """The WorkerLoad of a service's scorers, from the stack's `images` (every image of a
    service batches alike: `check_batching`)."""
    return worker_load(images[service.image].batching) if service.image in images else UNBATCHED


def check_batching(settings: StackSettings, project_root: Path) -> None:
    """ConfigError for an image whose batching cannot work: its sampleRequest has no non-empty
    `input` array to check the contract on, a service of the image times out before a request
    may have waited `maxLatencyMs` for others, or admits fewer requests at once than one batch."""
    for name, service in sorted(settings.services.items()):
        if isinstance(service, ServiceSettings):
            _check_service(name, service, settings)
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


def _check_service(name: str, service: ServiceSettings, settings: StackSettings) -> None:
    """A service's images batch alike (one pod, one app: one worker rule and one cap for all its
    scorers), and a capped service (AKS: replicaMaxConcurrentRequests) admits a whole batch."""
    key = f"{PROJECT}:services.{name}"
    references = [(k, image) for k, image in service.image_references() if image in settings.images]
    loads = {image: worker_load(settings.images[image].batching) for _, image in references}
    own = loads.get(service.image, UNBATCHED)
    for ref_key, image in references:
        if loads[image] != own:
            raise ConfigError(f"{key}.{ref_key}", f"image {image!r} batches otherwise than the service's image "
                                                  f"{service.image!r} (images.<name>.batching): the service's scorers "
                                                  "share one worker and concurrency rule; give both images the same "
                                                  "batching (or none)")
    admitted = service.admitted_per_replica()
    if own.requests > 1 and admitted is not None and admitted < own.requests:
        # The gateway answers 503 beyond `admitted` requests per replica, so no batch could grow
        # past it: the image's maxBatchSize would never be reached.
        raise ConfigError(f"{key}.replicaMaxConcurrentRequests",
                          f"{admitted} requests at once per replica is less than image {service.image!r}'s "
                          f"batching.maxBatchSize ({own.requests}): the gateway answers 503 beyond "
                          f"{admitted}, so no batch could grow past it; set replicaMaxConcurrentRequests to "
                          f"at least {own.requests} (one worker per {own.requests}) or lower maxBatchSize")


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
