"""`mldeploy diff` output: markdown (a terminal, a job summary and the PR comment all print the
same text) and JSON for machines, from one StackDiff and the review of it."""
from __future__ import annotations

import difflib
import json
import os
import re
from typing import Any

from mldeploy.cli.diffing import KINDS, MISSING, PropertyChange, ResourceChange, StackDiff, secure_changes
from mldeploy.cli.review import TrafficTable, gone_warnings, notes, traffic_tables, warnings
from mldeploy.cli.stack_keys import NO_KEY, change_keys

_ICON = {"create": "➕ create", "update": "✏️ update", "replace": "♻️ replace", "delete": "➖ delete"}
_EFFECT = {"create": "create", "delete": "delete", "update": "update", "replace": "**replace**", "refused": "⚠️ **create-only**"}
_LIMIT = 60      # properties shown per resource
_CONTEXT = 24    # characters kept around the differing part of a long value
_LONG = 80       # a value longer than this is shortened, never across its differing part


# -- values ----------------------------------------------------------------------------------

def _text(value: Any) -> str:
    if value is MISSING:
        return ""
    # Pulumi carries every number as a float: `maxReplicas: 4` reads 4.0 in resources.json.
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _common(a: str, b: str) -> tuple[int, int]:
    """Lengths of the common prefix and (non-overlapping) common suffix of a and b."""
    prefix = len(os.path.commonprefix([a, b]))
    limit = min(len(a), len(b)) - prefix
    suffix = len(os.path.commonprefix([a[::-1], b[::-1]]))
    return prefix, min(suffix, limit)


def _cut_prefix(text: str, at: int) -> int:
    """Where to start showing `text` so about `_CONTEXT` characters before `at` stay, starting
    at a path boundary ('/', '.', ':') or a word's when there is one, so ids read `…/diabetes/versions/1`
    and text `… body larger than 86 MB`, not `…equest body`."""
    start = max(0, at - _CONTEXT)
    boundaries = [i for i in (text.find(sep, start, at) for sep in "/.: ") if i >= 0]
    return min(boundaries) if boundaries else start


_IMAGE_BY_DIGEST = re.compile(r"[a-z0-9][a-z0-9.-]*(:[0-9]+)?/[^\s@]+@sha256:[0-9a-f]{64}")


def _identifier(text: str) -> bool:
    """An Azure resource id (`/subscriptions/…`, `/providers/…`) or an image pinned by digest
    (`cr.azurecr.io/app@sha256:…`): a value a reviewer checks whole (which subscription, group,
    workspace, registry) and pastes into `az resource show --ids` or `docker pull`."""
    if any(c.isspace() for c in text):
        return False
    return text.startswith(("/subscriptions/", "/providers/")) or bool(_IMAGE_BY_DIGEST.fullmatch(text))


def _changed_lines(a: str, b: str) -> tuple[str, str] | None:
    """Two texts of several lines (a rendered nginx.conf, a script) as their changed lines only, each
    stripped and cut around what differs, `…` where equal lines were left out: a timeout changed at the
    top and in an error page at the bottom reads as those lines, not as everything between them."""
    if "\n" not in a or "\n" not in b:
        return None
    old, new = a.splitlines(), b.splitlines()
    hunks = [h for h in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes() if h[0] != "equal"]
    sides: tuple[list[str], list[str]] = ([], [])
    for n, (_, i1, i2, j1, j2) in enumerate(hunks):
        olds, news = [line.strip() for line in old[i1:i2]], [line.strip() for line in new[j1:j2]]
        if len(olds) == len(news):
            olds, news = (list(side) for side in zip(*(shorten(x, y) for x, y in zip(olds, news))))
        gap = ["…"] if (i1 > 0 if n == 0 else i1 > hunks[n - 1][2]) else []
        for side, lines in zip(sides, (olds, news)):
            side += gap + (lines or ["(no line)"])
    tail = ["…"] if hunks and hunks[-1][2] < len(old) else []
    return "\n".join(sides[0] + tail), "\n".join(sides[1] + tail)


def shorten(before: Any, after: Any) -> tuple[str, str]:
    """Both values as text; long ones cut to the part that differs, with `…` where something
    equal on both sides was left out. The differing part itself is never cut, and an identifier
    (a resource id, an image by digest) never at all."""
    a, b = _text(before), _text(after)
    if max(len(a), len(b)) <= _LONG or before is MISSING or after is MISSING or _identifier(a) or _identifier(b):
        return a, b
    lines = _changed_lines(a, b)
    if lines is not None:
        return lines
    prefix, suffix = _common(a, b)
    start = _cut_prefix(a, prefix) if prefix > _CONTEXT else 0
    end_a, end_b = len(a) - suffix, len(b) - suffix
    keep = min(suffix, _CONTEXT)
    head = "…" if start else ""
    tail_a = a[end_a:end_a + keep] + ("…" if suffix > keep else "")
    tail_b = b[end_b:end_b + keep] + ("…" if suffix > keep else "")
    return head + a[start:end_a] + tail_a, head + b[start:end_b] + tail_b


def _cell(text: str, missing: bool = False) -> str:
    if missing:
        return "—"
    return "`" + text.replace("\n", "⏎").replace("|", "\\|").replace("`", "'") + "`"


def _row(p: PropertyChange) -> str:
    b, a = shorten(p.before, p.after)
    effect = _EFFECT[p.effect.kind] + (f" ({p.effect.reason})" if p.effect.reason else "")
    return f"| `{p.path}` | {_cell(b, p.before is MISSING)} | {_cell(a, p.after is MISSING)} | {effect} |"


# -- markdown --------------------------------------------------------------------------------

def _fmt(value: int | str | None) -> str:
    return "—" if value is None else str(value)


def _shift(before: int | str | None, after: int | str | None) -> str:
    """`90` when unchanged, `90 → 0` when not."""
    return _fmt(before) if before == after else f"{_fmt(before)} → {_fmt(after)}"


def _traffic_md(tables: list[TrafficTable]) -> list[str]:
    lines = []
    for t in tables:
        if not t.rows:
            continue
        # The stack file's words first (`services.diabetes`, its deployment `blue` or variant `canary`),
        # Azure's or Kubernetes' name beside them; a synth without them names what it has.
        aks = t.kind == "AKS service"
        where, column = {"AKS service": ("AKS", "variant"), "Container App": ("Container Apps", "revision")}.get(
            t.kind, (t.endpoint, "deployment"))
        heading = f"**Traffic, `{t.service}`** ({where})" if t.service else f"**Traffic, {t.endpoint}**"
        lines += [heading, "", f"| {column if t.service else 'deployment'} | model:version | traffic | mirror |",
                  "|---|---|---|---|"]
        for r in t.rows:
            mark = "**" if r.changed else ""
            if aks and r.name and t.service:
                name = f"{mark}`{r.name}`{mark} (Deployment `{r.deployment}`)"
            elif aks and r.resource:  # an older synth's AKS stable Deployment: the resource's name and Kubernetes'
                name = f"{mark}`{r.resource}`{mark} (Deployment `{r.deployment}`)"
            else:
                name = f"{mark}`{r.deployment}`{mark}"
            lines.append(f"| {name} | {_shift(r.model_before, r.model_after)} | "
                         f"{_shift(r.traffic_before, r.traffic_after)} | {_shift(r.mirror_before, r.mirror_after)} |")
        lines.append("")
    return lines


def _key_md(key: str | None) -> str:
    return f"`{key}`" if key else NO_KEY


def _resource_md(c: ResourceChange, key: str | None) -> list[str]:
    shown = c.properties[:_LIMIT]
    said = f"<code>{key}</code>: " if key else ""
    lines = [f"<details><summary>{_ICON[c.kind]} {said}<code>{c.name}</code> ({c.type})</summary>", "",
             "| property | before | after | effect |", "|---|---|---|---|"]
    lines += [_row(p) for p in shown]
    if len(c.properties) > len(shown):
        lines.append(f"| … | {len(c.properties) - len(shown)} more | | |")
    return lines + ["", "</details>", ""]


def _summary_md(d: StackDiff) -> list[str]:
    counts = ", ".join(f"{len(d.of(k))} to {k}" for k in KINDS)
    lines = [f"**{counts}** ({d.unchanged} unchanged)", ""]
    if d.changes:
        keys = change_keys(d)
        lines += ["| | stack file | resource | type | properties |", "|---|---|---|---|---|"]
        lines += [f"| {_ICON[c.kind]} | {_key_md(keys[c.urn])} | `{c.name}` | `{c.type}` | {len(c.properties)} |"
                  for c in d.changes]
        lines.append("")
    return lines


def render_markdown(d: StackDiff) -> str:
    lines = [f"### mldeploy diff: stack `{d.stack}`, {d.base.label} → {d.head.label}", ""]
    if not d.base.exists:
        lines += [f"_The stack does not exist at {d.base.label}: everything is new._", ""]
    alerts = warnings(d)
    if alerts:
        lines += ["> [!WARNING]", f"> **{len(alerts)} thing(s) to check before merging**", ">"]
        lines += [f"> - {a.message}" for a in alerts]
        lines.append("")
    lines += [f"_{n}_\n" for n in notes(d)]
    if not d.changed:
        return "\n".join(lines + [f"**No changes.** {d.unchanged} resources unchanged.", ""])
    lines += _summary_md(d) + _traffic_md(traffic_tables(d))
    keys = change_keys(d)
    for c in d.changes:
        lines += _resource_md(c, keys[c.urn])
    if d.outputs:
        lines += ["#### Stack outputs", "", "| output | before | after |", "|---|---|---|"]
        for p, b, a in d.outputs:
            sb, sa = shorten(b, a)
            lines.append(f"| `{p}` | {_cell(sb, b is MISSING)} | {_cell(sa, a is MISSING)} |")
        lines.append("")
    blocking = [v for v in d.head.violations if v.get("enforcement") == "mandatory"]
    if blocking:
        lines += [f"#### ⛔ {len(blocking)} mandatory policy violation(s) at {d.head.label}", ""]
        lines += [f"- `{v['policy']}`: {v['message']}" for v in blocking]
        lines.append("")
    return "\n".join(lines)


# -- JSON ------------------------------------------------------------------------------------

def _value(v: Any) -> Any:
    return None if v is MISSING else v


def to_json(d: StackDiff) -> dict[str, Any]:
    """The whole diff as plain data (values complete, secrets masked as in resources.json); each
    resource's `stackKey` is what the stack file calls it (null: mldeploy's own, no key)."""
    keys = change_keys(d)
    return {
        "stack": d.stack, "base": d.base.label.replace("`", ""), "head": d.head.label, "changed": d.changed,
        "baseExists": d.base.exists, "counts": {k: len(d.of(k)) for k in KINDS}, "unchanged": d.unchanged,
        "warnings": [{"kind": a.kind, "resource": a.resource, "message": a.message} for a in warnings(d)],
        "warningsGone": gone_warnings(d),  # synth's, at the base and not at the head
        "traffic": [{"endpoint": t.endpoint, "service": t.service, "rows": [
            {"name": r.name, "deployment": r.deployment, "resource": r.resource or r.deployment, "modelBefore": r.model_before, "modelAfter": r.model_after,
             "trafficBefore": r.traffic_before, "trafficAfter": r.traffic_after,
             "mirrorBefore": r.mirror_before, "mirrorAfter": r.mirror_after} for r in t.rows]}
            for t in traffic_tables(d)],
        "resources": [{"kind": c.kind, "urn": c.urn, "type": c.type, "name": c.name, "stackKey": keys[c.urn], "properties": [
            {"path": p.path, "before": _value(p.before), "after": _value(p.after), "effect": p.effect.kind,
             "reason": p.effect.reason} for p in c.properties]} for c in d.changes],
        "outputs": [{"path": p, "before": _value(b), "after": _value(a)} for p, b, a in d.outputs],
        "secretsChanged": secure_changes(d),
        "notes": notes(d),
        "policyViolations": [v for v in d.head.violations if v.get("enforcement") == "mandatory"],
    }
