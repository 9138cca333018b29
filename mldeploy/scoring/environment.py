"""An image's environment file (`condaFile` or `requirementsFile`) read as pip requirements, and
what the scorer host needs on top of it.

The scorer host (mldeploy/scoring/scorer_host.py) patches azmlinfsrv's internals and, for
`scoringServer: mldeploy`, granian's: it runs only on the versions it was tested against
(`scorer_host.TESTED_VERSIONS`, their one home; the host checks them at start). So every image
and every local environment gets exactly those versions: the user's file may leave the
packages out or pin them compatibly (ours is added: `scorer_pins`), and a pin that excludes the
tested version is refused when the stack is loaded (`pin_conflict`, exit 2 naming the file, the
package and both versions). Requirement strings are read with `packaging` (pip's own parser:
names compared canonically - case, `_`, `-` and `.` alike - extras and markers understood).
"""
from __future__ import annotations

import re

import yaml
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

from mldeploy.scoring.scorer_host import TESTED_VERSIONS, packages_for

# Conda-only packages that have no meaning for a pip virtualenv.
CONDA_ONLY = {"python", "pip", "setuptools", "wheel", "nomkl", "mkl", "libgcc-ng", "libstdcxx-ng"}
# What names no package (a URL, an archive, a variable): pip's to judge.
_NOT_A_REQUIREMENT = re.compile(r"://|\$\{|\.(whl|zip|tar\.gz|tgz)$")


def conda_to_pip(spec: str) -> str | None:
    """A conda match spec as a pip requirement (`name=1.2` -> `name==1.2.*`, `name 1.2` likewise,
    `channel::name>=1` -> `name>=1`); None for conda-only packages. ValueError if unreadable."""
    match = re.match(r"^([A-Za-z0-9_.\-]+)\s*(.*)$", spec.split("::")[-1].strip())
    if not match:
        raise ValueError(f"cannot read the conda dependency {spec!r}")
    name, version = match.group(1), match.group(2).strip()
    if name.lower() in CONDA_ONLY:
        return None
    if not version:
        return name
    if version[0].isdigit():  # `name 1.2` (a space, no operator): conda's fuzzy match, as `name=1.2`
        version = "=" + version.split()[0]
    if version.startswith("=") and not version.startswith("=="):
        # conda's `name=1.2` means 1.2.*; `name=1.2=build` carries a build string pip has no use for.
        return f"{name}=={version[1:].split('=')[0].rstrip('*').rstrip('.')}.*"
    return f"{name}{version}"


def pip_requirements(env_kind: str, env_text: str, *, conda_packages: bool = True) -> list[str]:
    """The pip requirements of an environment file: a requirements file's lines, or a conda
    file's `pip:` list plus (unless `conda_packages` is False) its conda packages translated
    (`conda_to_pip`). ValueError if the conda file is not YAML or a dependency cannot be read."""
    if env_kind == "pip":
        return [line.strip() for line in env_text.splitlines() if line.strip() and not line.strip().startswith("#")]
    try:
        doc = yaml.safe_load(env_text) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"the conda file is not valid YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise ValueError("the conda file is not a mapping with a `dependencies:` list")
    reqs = []
    for dep in doc.get("dependencies") or []:
        if isinstance(dep, dict):
            reqs += [str(p) for p in dep.get("pip") or []]
        elif conda_packages and (pip_req := conda_to_pip(str(dep))) is not None:
            reqs.append(pip_req)
    return reqs


def installed_names(env_kind: str, env_text: str) -> set[str]:
    """The canonical names (packaging's canonicalize_name) of the packages an environment file
    installs by name: `pip_requirements`' lines that parse as requirements."""
    return {canonicalize_name(req.name) for _, req in _named(pip_requirements(env_kind, env_text)) if req is not None}


def _named(reqs: list[str]) -> list[tuple[str, Requirement | None]]:
    """(the line, its parsed requirement) for every line that names a package; a line that looks
    like one but does not parse comes with None."""
    named = []
    for line in reqs:
        spec = re.split(r"\s+--?[A-Za-z]|(?:^|\s)#", line, maxsplit=1)[0].strip()  # per-line options, comments
        if not spec or spec.startswith(("-", ".", "/", "~")):
            continue
        try:
            named.append((spec, Requirement(spec)))  # `name @ URL` included
        except InvalidRequirement:
            if not _NOT_A_REQUIREMENT.search(spec):
                named.append((spec, None))
    return named


def installed_specifier(env_kind: str, env_text: str, package: str) -> SpecifierSet | None:
    """What the environment surely installs of `package`, as far as a check may refuse on it: the
    file's pip lines when any names it (pip installs them over conda's packages: a conda `numpy=1.26`
    beside a pip `numpy==2.4.6` ends with 2.4.6), else the conda packages'. Lines under an environment
    marker are left out (`numpy==1.26.4; python_version < "3.10"` holds on some Pythons only); None
    when no unconditional line names it."""
    def allowed(lines: list[str]) -> SpecifierSet | None:
        found = None
        for _, req in _named(lines):
            if (req is not None and canonicalize_name(req.name) == canonicalize_name(package) and req.url is None
                    and req.marker is None):
                found = (found or SpecifierSet()) & req.specifier
        return found

    pip_lines = pip_requirements(env_kind, env_text, conda_packages=False)
    named_by_pip = any(req is not None and canonicalize_name(req.name) == canonicalize_name(package)
                       for _, req in _named(pip_lines))
    return allowed(pip_lines if named_by_pip or env_kind == "pip" else pip_requirements(env_kind, env_text))


def pin_conflict(env_kind: str, env_text: str, scoring_server: str) -> str | None:
    """Why the file's pins cannot hold the scorer host's tested versions (None when they can)."""
    for package in packages_for(scoring_server):
        tested = TESTED_VERSIONS[package]
        for line, req in _named(pip_requirements(env_kind, env_text)):
            if req is None:
                name = re.match(r"[A-Za-z0-9_.\-]*", line).group(0)
                if canonicalize_name(name) == canonicalize_name(package):
                    return (f"cannot tell which {package} versions {line!r} allows; mldeploy's scorer host runs only "
                            f"on {package}=={tested}, the version it was tested against: leave it out or pin that")
                continue
            if canonicalize_name(req.name) != canonicalize_name(package):
                continue
            if req.url:
                return (f"{line!r} installs {package} from a URL; mldeploy's scorer host patches {package} and runs "
                        f"only on {package}=={tested}, the version it was tested against: leave it out or pin {package}=={tested}")
            if not req.specifier.contains(tested, prereleases=True):
                return (f"{line!r} excludes {package} {tested}, the version mldeploy's scorer host is tested against "
                        f"(it patches {package}'s internals; scoringServer {scoring_server}): leave {package} out "
                        f"or allow {tested}, e.g. {package}=={tested}")
    return None


def pin_clash(env_kind: str, env_text: str) -> str | None:
    """Two pip requirements of one package (under the same markers) that no one version meets - an
    exact pin the other excludes, `numpy==2.4.6` beside `numpy==1.26.4` or `numpy<2`: pip's resolver
    stops with ResolutionImpossible ("Cannot install numpy==1.26.4 and numpy==2.4.6 because these
    package versions have conflicting dependencies"; pip docs, "Dependency Resolution", "Dealing with
    dependency conflicts"). Only the file's pip lines count (a conda file's `pip:` list): pip installs
    them over conda's packages, so a conda `numpy=1.26` beside a pip `numpy==2.4.6` does build."""
    lines = pip_requirements(env_kind, env_text, conda_packages=False)
    reqs = [(line, req) for line, req in _named(lines) if req is not None and not req.url]
    for i, (line, req) in enumerate(reqs):
        pins = [spec.version for spec in req.specifier if spec.operator in ("==", "===") and "*" not in spec.version]
        for other_line, other in reqs[:i] + reqs[i + 1:]:
            if canonicalize_name(other.name) != canonicalize_name(req.name) or str(other.marker) != str(req.marker):
                continue
            for pin in pins:
                if not other.specifier.contains(pin, prereleases=True):
                    first, second = sorted((line, other_line))
                    return (f"{first!r} and {second!r} admit no one {req.name} version, so pip cannot install the "
                            "file (ResolutionImpossible): keep one requirement for it")
    return None


def scorer_pins(env_kind: str, env_text: str, scoring_server: str) -> list[str]:
    """What the scorer needs on top of the user's environment: each package the host patches at
    its tested version - unless the file pins exactly that version already (the same install, and
    an unchanged image for files that do)."""
    exact = {canonicalize_name(req.name) for _, req in _named(pip_requirements(env_kind, env_text))
             if req is not None and not req.url and _only(req.specifier, TESTED_VERSIONS.get(_known(req.name)))}
    return [f"{package}=={TESTED_VERSIONS[package]}" for package in packages_for(scoring_server)
            if canonicalize_name(package) not in exact]


def _known(name: str) -> str | None:
    return next((p for p in TESTED_VERSIONS if canonicalize_name(p) == canonicalize_name(name)), None)


def _only(specifier: SpecifierSet, version: str | None) -> bool:
    try:
        return version is not None and specifier == SpecifierSet(f"=={version}")
    except InvalidSpecifier:  # pragma: no cover - a parsed requirement's specifier is valid
        return False
