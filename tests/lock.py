"""constraints.txt from the virtualenv `make install` built: every package in it at the version it has (`make
lock` runs `python -m tests.lock`; `--check` says whether the files are current). The direct dependencies come
first, at the dated table's versions (plan/versions.py DEPLOY_PACKAGES), then everything else the extras and
the dependencies pull in. mldeploy itself (the editable install) is left out.

It also writes mldeploy/plan/deploy_lock.py: what the direct dependencies alone pull in (no extras), at the
same versions - the lines `mldeploy init` adds to a project's requirements.txt, so a project's deploy
virtualenv is as fixed as this one.

    .venv/bin/python -m tests.lock            # rewrite constraints.txt and mldeploy/plan/deploy_lock.py
    .venv/bin/python -m tests.lock --check    # exit 1 (one line) when they differ from the virtualenv
    .venv/bin/python -m tests.lock --tools .venv-tools   # tools-constraints.txt from checkov's virtualenv
"""
from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from mldeploy.plan.versions import DEPLOY_PACKAGES

ROOT = Path(__file__).resolve().parent.parent
CONSTRAINTS = ROOT / "constraints.txt"
TOOLS_CONSTRAINTS = ROOT / "tools-constraints.txt"
DEPLOY_LOCK = ROOT / "mldeploy" / "plan" / "deploy_lock.py"
OWN = "mldeploy"

HEADER = """\
# Every package of the virtualenv mldeploy's tests run in, at one version each: `make install` installs with
# `-c constraints.txt` (pip itself too), so a fresh clone installs today's set next year, whatever PyPI has
# released since. Written by `make lock` (tests/lock.py) from the virtualenv; tests/test_pins.py keeps this
# file, the virtualenv and the dated table equal. To move packages: change their pins (a dependency's in the
# table too), delete the generated block below if the new versions need others, `make install`, `make lock`.
# Dependabot (.github/dependabot.yml, pip) proposes updates of single lines; its pull request fails
# tests/test_pins.py (or `make install`) until that is done on its branch.
"""
DIRECT = """\
# mldeploy's dependencies (pyproject.toml [project] dependencies), the dated table's versions (mldeploy/plan/
# versions.py DEPLOY_PACKAGES), which `mldeploy init` writes into a project's requirements.txt.
"""
REST = """\
# What they, the extras (runtime, test, reload) and pip's own virtualenv hold besides, generated.
"""


def installed(venv: Path | None = None) -> dict[str, tuple[str, str]]:
    """canonical name -> (name as its metadata spells it, version) of every distribution of this Python's
    environment (or of the virtualenv `venv`) but mldeploy's own."""
    found = {}
    paths = None if venv is None else [str(p) for p in sorted(venv.glob("lib/python3*/site-packages"))]
    for dist in metadata.distributions(**({} if paths is None else {"path": paths})):
        name = dist.metadata["Name"]
        if name and canonicalize_name(name) != OWN:
            found[canonicalize_name(name)] = (name, dist.version)
    return found


def render(packages: dict[str, tuple[str, str]]) -> str:
    """The file for `packages` (installed()'s shape). ValueError when a direct dependency's installed version
    is not the table's (the virtualenv is stale: `make install`)."""
    direct = {canonicalize_name(name): (name, version) for name, version in DEPLOY_PACKAGES.items()}
    for key, (name, version) in direct.items():
        have = packages.get(key, (name, None))[1]
        if have != version:
            raise ValueError(f"{name} {have or 'is not installed'} in the virtualenv, the dated table pins {version}: "
                             "run `make install` first")
    rest = sorted((key, packages[key]) for key in packages if key not in direct)
    return (HEADER + DIRECT + "".join(f"{name}=={version}\n" for name, version in direct.values())
            + REST + "".join(f"{key}=={version}\n" for key, (_, version) in rest))


# setuptools (pulumi-policy requires it) is in this virtualenv as Python 3.11's `python -m venv` seeds it
# (65.5.0); a project on Python 3.12+ gets none seeded, and 65.5.0's pkg_resources predates 3.12: projects
# take the one their virtualenv has or pip picks.
NOT_FOR_PROJECTS = {"setuptools"}


def pulled_in(roots: list[str]) -> dict[str, str]:
    """canonical name -> installed version of every package the `roots` require, directly or not, on this
    platform and Python (markers evaluated; no extras but those a requirement names), the roots left out."""
    seen: set[str] = set()
    todo = [(canonicalize_name(r), frozenset()) for r in roots]
    done: set[tuple[str, frozenset]] = set()
    while todo:
        name, extras = todo.pop()
        if (name, extras) in done:
            continue
        done.add((name, extras))
        seen.add(name)
        for line in metadata.distribution(name).requires or []:
            req = Requirement(line)
            if req.marker is not None and not any(req.marker.evaluate({"extra": e}) for e in (extras or {""})):
                continue
            todo.append((canonicalize_name(req.name), frozenset(req.extras)))
    own = {canonicalize_name(r) for r in roots}
    return {name: metadata.version(name) for name in sorted(seen - own - NOT_FOR_PROJECTS)}


def render_deploy_lock(pins: dict[str, str]) -> str:
    body = "".join(f"    {name!r}: {version!r},\n" for name, version in pins.items())
    return ('"""What mldeploy\'s dependencies (plan/versions.py DEPLOY_PACKAGES) pull in, at the versions of the virtualenv\n'
            "mldeploy's tests run in (constraints.txt): `mldeploy init` pins them in a project's requirements.txt below\n"
            "the table's. Generated by `make lock` (tests/lock.py) on Linux, CPython 3.11: do not edit.\"\"\"\n"
            "from __future__ import annotations\n\n"
            f"DEPLOY_LOCK: dict[str, str] = {{\n{body}}}\n")


TOOLS_HEADER = """\
# Every package of the virtualenv `make tools` makes for checkov (.venv-tools: checkov's pins clash with
# pulumi's), at one version each, pip's own too: a fresh clone's `make test` scans with the checkov, and the
# checks, the tests last passed with. Written by `make lock-tools` (tests/lock.py --tools) from that virtualenv.
"""


def render_tools(packages: dict[str, tuple[str, str]]) -> str:
    if "checkov" not in packages:
        raise ValueError("checkov is not installed in the tools virtualenv: run `make tools` first")
    return TOOLS_HEADER + "".join(f"{key}=={version}\n" for key, (_, version) in sorted(packages.items()))


def main(argv: list[str]) -> int:
    if argv[1:2] == ["--tools"] and len(argv) == 3:
        try:
            text = render_tools(installed(Path(argv[2])))
        except ValueError as err:
            print(f"error: tools-constraints.txt: {err}", file=sys.stderr)
            return 1
        TOOLS_CONSTRAINTS.write_text(text)
        print(f"tools-constraints.txt: {text.count('==')} packages")
        return 0
    try:
        text = render(installed())
    except ValueError as err:
        print(f"error: constraints.txt: {err}", file=sys.stderr)
        return 1
    deploy = pulled_in(list(DEPLOY_PACKAGES))
    lock = render_deploy_lock(deploy)
    if argv[1:] == ["--check"]:
        for path, want in ((CONSTRAINTS, text), (DEPLOY_LOCK, lock)):
            if not path.exists() or path.read_text() != want:
                print(f"error: {path.relative_to(ROOT)} differs from the virtualenv: `make install` (a changed pin) "
                      "or `make lock` (a changed virtualenv)", file=sys.stderr)
                return 1
        return 0
    CONSTRAINTS.write_text(text)
    DEPLOY_LOCK.write_text(lock)
    print(f"constraints.txt: {text.count('==')} packages; mldeploy/plan/deploy_lock.py: {len(deploy)} packages")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
