"""mldeploy/cli/diff_render.py's values: what a reviewer reads in a property's before/after cells."""
from __future__ import annotations

import json

from mldeploy.cli.diff_render import shorten
from tests.stacks.snapshot import SNAPSHOTS


def test_a_whole_number_reads_as_the_stack_file_wrote_it():
    """Pulumi carries numbers as floats: `autoscaleMaxReplicas: 4 -> 6` read `4.0` -> `6.0`."""
    assert shorten(4.0, 6.0) == ("4", "6")
    assert shorten(0.9, 1.9) == ("0.9", "1.9")


def test_a_text_of_many_lines_shows_only_the_lines_that_changed():
    """prod's `scoringTimeoutMs` 5000 -> 8000 changes the gateway's proxy timeouts near the top of its
    nginx.conf and its 504 body near the bottom: the cell held the ~2,000 characters between them."""
    resources = json.loads((SNAPSHOTS / "prod" / "resources.json").read_text())
    conf = next(r for r in resources if r["name"] == "diabetes-gateway-stable")["inputs"]["data"]["nginx.conf"]
    assert "proxy_read_timeout 5000ms;" in conf and "no answer within 5000 ms" in conf
    before, after = shorten(conf, conf.replace("5000ms", "8000ms").replace("within 5000 ms", "within 8000 ms"))
    assert before.split("\n") == ["…", "proxy_send_timeout 5000ms;", "proxy_read_timeout 5000ms;", "…",
                                  '…: "no answer within 5000 ms", "status": 504}\'…', "…"], before
    assert after.split("\n")[1:3] == ["proxy_send_timeout 8000ms;", "proxy_read_timeout 8000ms;"], after
    assert len(before) < 200, before


def test_a_line_added_or_removed_says_so_on_the_other_side():
    old = "\n".join(f"line {i} of the script, long enough to be cut" for i in range(6))
    new = old.replace("line 3 of the script, long enough to be cut\n", "")
    before, after = shorten(old, new)
    assert before.split("\n") == ["…", "line 3 of the script, long enough to be cut", "…"], before
    assert after.split("\n") == ["…", "(no line)", "…"], after


def test_a_cut_starts_at_a_word_not_inside_one():
    """memoryGb 1 -> 2 on prod-attach changes the gateway's 413 body: it read `…equest body larger than 86 MB`."""
    line = "location @e413 { default_type application/json; return 413 '{\"error\": \"request body larger than %s MB\"}'; }"
    before, after = shorten(line % 86, line % 100)
    assert before.startswith("… body larger than 86 MB") and after.startswith("… body larger than 100 MB"), (before, after)
