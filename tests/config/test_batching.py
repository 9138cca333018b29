"""`images.<name>.batching`: the settings, and every bad value stopped at load with the key named
(config/batching.py, config/stack.py's image rules, plan/batching.py's sample and timeout rules)."""
from __future__ import annotations

import json

import pytest

from mldeploy.config import ConfigError
from mldeploy.targets.stack import parse_settings
from tests.harness import ROOT, stack_values

SOURCE = "stacks/Pulumi.forest.yaml"
KEY = "mldeploy:images.forest.batching"


def forest():
    return stack_values("forest")[0]


def batching(values):
    return values["mldeploy:images"]["forest"]["batching"]


def expect_error(values, key, *fragments, root=ROOT):
    with pytest.raises(ConfigError) as info:
        parse_settings("forest", values, set(), root, SOURCE)
    err = info.value
    assert err.key == key, f"error names key {err.key!r}, expected {key!r}: {err}"
    assert err.source == SOURCE, f"error must name the stack file: {err}"
    for fragment in fragments:
        assert fragment in err.message, f"{fragment!r} missing from message: {err.message}"
    assert "\n" not in str(err), "errors are one line"


def test_the_forest_stack_batches_its_data_array():
    image = parse_settings("forest", forest(), set(), ROOT, SOURCE).images["forest"]
    assert (image.batching.max_batch_size, image.batching.max_latency_ms, image.batching.input) == (32, 20, "data")


def test_images_without_batching_do_not_batch():
    assert parse_settings("local", stack_values("local")[0], set(), ROOT, "stacks/Pulumi.local.yaml") \
        .images["diabetes"].batching is None


@pytest.mark.parametrize("field, value, fragment", [
    ("maxBatchSize", 1, "greater than or equal to 2"),
    ("maxBatchSize", 5000, "less than or equal to 1024"),
    ("maxBatchSize", "32", "integer"),
    ("maxLatencyMs", 0, "greater than or equal to 1"),
    ("maxLatencyMs", 2.5, "integer"),
    ("input", "data rows", "pattern"),
    ("input", "", "pattern"),
])
def test_bad_values_name_their_key(field, value, fragment):
    values = forest()
    batching(values)[field] = value
    expect_error(values, f"{KEY}.{field}", fragment)


def test_max_batch_size_is_required_and_unknown_keys_are_refused():
    values = forest()
    del batching(values)["maxBatchSize"]
    expect_error(values, f"{KEY}.maxBatchSize")
    values = forest()
    batching(values)["maxWaitMs"] = 3
    expect_error(values, f"{KEY}.maxWaitMs")


def test_batching_needs_the_mldeploy_server_and_a_sample_request():
    values = forest()
    values["mldeploy:images"]["forest"]["scoringServer"] = "azmlinfsrv"
    expect_error(values, "mldeploy:images.forest", "needs scoringServer mldeploy")
    values = forest()
    del values["mldeploy:images"]["forest"]["sampleRequest"]
    expect_error(values, "mldeploy:images.forest", "batching needs sampleRequest")


def test_the_sample_must_hold_the_input_array():
    values = forest()
    batching(values)["input"] = "rows"
    expect_error(values, f"{KEY}.input", "'rows' is a non-empty array")


def test_an_empty_sample_array_is_refused():
    sample = ROOT / "examples" / "forest" / "empty-sample.json"
    sample.write_text(json.dumps({"data": []}))
    try:
        values = forest()
        values["mldeploy:images"]["forest"]["sampleRequest"] = "examples/forest/empty-sample.json"
        expect_error(values, f"{KEY}.input", "non-empty array")
    finally:
        sample.unlink()


def test_max_latency_must_be_below_the_services_scoring_timeout():
    values = forest()
    values["mldeploy:services"]["forest"]["scoringTimeoutMs"] = 1000
    batching(values)["maxLatencyMs"] = 1000
    expect_error(values, f"{KEY}.maxLatencyMs", "scoringTimeoutMs (1000)")
