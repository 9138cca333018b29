"""README.md is the user's path, short, with the rest in docs/: every relative link and anchor in
README.md and docs/*.md resolves, every doc is linked from the README, and the README keeps the
commands the quickstart and CI rely on (.ci/run runs `make test`)."""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.harness import ROOT

DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [ROOT / "README.md", *DOCS]
FENCE = re.compile(r"^\s*(```|~~~)")
LINK = re.compile(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def _prose(text: str) -> list[str]:
    """The page's lines outside fenced code blocks."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def github_anchor(heading: str) -> str:
    """The id GitHub gives a heading: lowercased, punctuation other than '-' and '_' dropped,
    spaces to '-'. Written here (a line of regex) rather than a markdown library for one rule;
    the heading's code spans and link syntax keep their text."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = text.replace("`", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for line in _prose(path.read_text(encoding="utf-8")):
        m = HEADING.match(line)
        if not m:
            continue
        slug = github_anchor(m.group(2))
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        found.add(slug if n == 0 else f"{slug}-{n}")
    return found


def links(path: Path) -> list[str]:
    """The link targets on the page, outside code blocks and code spans."""
    return [t for line in _prose(path.read_text(encoding="utf-8")) for t in LINK.findall(re.sub(r"`[^`]*`", "", line))]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_anchor_resolves(page):
    broken = []
    for target in links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto: ...: not ours to check
            continue
        file, _, anchor = target.partition("#")
        dest = (page.parent / unquote(file)).resolve() if file else page
        if not dest.exists():
            broken.append(f"{target}: no file {dest.relative_to(ROOT) if dest.is_relative_to(ROOT) else dest}")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target}: no heading with anchor #{anchor} in {dest.relative_to(ROOT)}")
    assert not broken, f"{page.relative_to(ROOT)} has broken links:\n" + "\n".join(broken)


def test_every_doc_is_linked_from_the_readme():
    linked = {(ROOT / t.partition("#")[0]).resolve() for t in links(ROOT / "README.md") if t.startswith("docs/")}
    missing = [d.name for d in DOCS if d.resolve() not in linked]
    assert not missing, f"docs/ pages the README does not link: {missing}"


def test_the_readme_is_the_users_path_in_under_160_lines():
    # 150 until the performance table issue 23 asks the README to hold (10 lines).
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = len(text.splitlines())
    assert lines < 160, f"README.md has {lines} lines; move detail to docs/"
    path = ["pip install", "mldeploy init", "mldeploy serve --stack local", "mldeploy test", "mldeploy logs",
            "mldeploy synth", "pulumi up", "mldeploy diff", "pulumi destroy"]
    at = text.find("\n## ")
    for step in path:
        found = text.find(step, at)
        assert found >= 0, f"README.md: `{step}` is missing from the user's path, or comes before an earlier step"
        at = found


def test_the_readme_keeps_the_quickstarts_two_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in ci.splitlines()[-1], ".ci/run no longer ends with the README's test command"
    for command in ("make demo", "make test"):
        assert re.search(rf"^{command}\b", text, re.M), f"README.md lost the quickstart's `{command}`"


def test_the_anchor_rule_matches_githubs_on_our_headings():
    assert github_anchor("Rollout: promote, observe, roll back") == "rollout-promote-observe-roll-back"
    assert github_anchor("What `pulumi destroy` leaves, and for how long") == \
        "what-pulumi-destroy-leaves-and-for-how-long"
    assert github_anchor("v2 online endpoints: `target: managed` and `target: kubernetes-endpoint`") == \
        "v2-online-endpoints-target-managed-and-target-kubernetes-endpoint"


def test_the_rollouts_commands_parse_and_step_2_has_its_local_rehearsal():
    """Every `mldeploy ...` code span of docs/rollout.md is a command with options the CLI has
    (a new user copies them), and step 2's check of green has the form `mldeploy serve` answers."""
    import shlex

    from mldeploy.cli import cli

    text = " ".join((ROOT / "docs" / "rollout.md").read_text(encoding="utf-8").split())
    spans = re.findall(r"`(mldeploy [^`<]+)`", text)
    assert spans, "no mldeploy command in docs/rollout.md"
    for span in spans:
        name, *args = shlex.split(span)[1:]
        cli.commands[name].make_context(name, args)  # UsageError / NoSuchOption if the doc is wrong
    assert "mldeploy test --stack managed --service diabetes --deployment green --local" in spans, spans
