"""mldeploy/contract.py: the IoT Edge createOptions wire format that config sizes and render writes."""
from __future__ import annotations

import pytest

from mldeploy.contract import CREATE_OPTIONS_MAX, chunk_create_options, module_create_options


def test_create_options_beyond_eight_chunks_are_refused():
    too_big = {"Labels": {"x": "y" * CREATE_OPTIONS_MAX}}
    with pytest.raises(ValueError, match=r"at most 4096"):
        chunk_create_options(module_create_options(5001, 5001, {}, too_big))


def test_user_create_options_win_over_the_defaults():
    options = module_create_options(5001, 8080, {}, {"HostConfig": {"Memory": 536870912}})
    assert options["HostConfig"]["Memory"] == 536870912, "edge.<name>.createOptions: the user's value is kept"


def test_user_create_options_keep_the_port_binding():
    options = module_create_options(5001, 8080, {}, {"HostConfig": {"Memory": 536870912}})
    assert options["HostConfig"]["PortBindings"] == {"5001/tcp": [{"HostPort": "8080"}]}, \
        "edge.<name>.hostPort: merged, not replaced, by createOptions.HostConfig"


def test_small_create_options_are_one_chunk():
    assert list(chunk_create_options({"a": 1})) == ["createOptions"], "a short value needs no createOptions01"


def test_chunked_create_options_join_back_in_order():
    """mldeploy diff reads a module's createOptions back from its chunks (cli/diffing.py)."""
    from mldeploy.contract import chunk_create_options, join_create_options, serialize_create_options

    options = {"Env": [f"V{i:02d}={'x' * 60}" for i in range(20)]}  # ~1,400 characters: 3 chunks
    chunks = chunk_create_options(options)
    assert list(chunks) == ["createOptions", "createOptions01", "createOptions02"], list(chunks)
    settings = {"image": "r/m:1", **dict(reversed(list(chunks.items())))}  # any key order
    assert join_create_options(settings) == serialize_create_options(options)
    assert join_create_options({"image": "r/m:1"}) is None
