"""Issue 24's cases of helper `h24b` (clashes across entries, file contents, paths, plain-text secrets,
keys of another mode, reserved names), part of the corpus's `semantic` class (tests/config/bad_stacks.py
CLASSES): each exited 0 before its rule (probed with `synth` on copies of the example stacks) and
names the key it breaks; the rule's source is cited beside the rule."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator


def make_h24b_files(hostile: Path) -> None:
    """The files these cases point at, under the corpus project's `hostile/` (make_hostile_files)."""
    (hostile / "model-only-gitkeep").mkdir()
    (hostile / "model-only-gitkeep" / ".gitkeep").write_bytes(b"")
    (hostile / "model-empty-files" / "sub").mkdir(parents=True)
    (hostile / "model-empty-files" / "model.pkl").write_bytes(b"")
    (hostile / "model-empty-files" / "sub" / "weights.bin").write_bytes(b"")
    for name, text in SCRIPTS.items():
        (hostile / name).write_text(text)
    for name, text in ENV_FILES.items():
        (hostile / name).write_text(text)


_DEFS = "def init():\n    pass\n\n\ndef run(data):\n    return data\n"
# Entry scripts whose init()/run() the server cannot call on import (each compiles).
SCRIPTS = {
    "s-main-guard.py": "if __name__ == '__main__':\n" + "".join("    " + line + "\n" for line in _DEFS.splitlines()),
    "s-main-guard-run.py": "def init():\n    pass\n\n\nif __name__ == \"__main__\":\n    def run(data):\n        return data\n",
    "s-type-checking.py": "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    def init() -> None: ...\n\n"
                          "    def run(data: list) -> list: ...\n",
    "s-if-false.py": "if False:\n" + "".join("    " + line + "\n" for line in _DEFS.splitlines()),
    "s-run-none.py": "def init():\n    pass\n\n\nrun = None  # TODO\n",
    "s-init-str.py": "init = 'init'\n\n\ndef run(data):\n    return data\n",
    "s-del-run.py": _DEFS + "\n\ndel run\n",
    "s-init-generator.py": "def init():\n    global model\n    model = yield\n\n\ndef run(data):\n    return data\n",
}
# Requirements lines pip's option parser stops at, and a conda `pip:` line pip cannot read.
ENV_FILES = {
    "r-unknown-option.txt": "--no-such-option\nscikit-learn\n",
    "r-option-without-value.txt": "scikit-learn\n--index-url\n",
    "r-unknown-short-option.txt": "-x https://pkgs.example.com/simple\nscikit-learn\n",
    "r-requirement-unknown-option.txt": "scikit-learn==1.5.2 --no-deps\n",
    "c-pip-not-pep508.yml": "name: x\ndependencies:\n  - python=3.11\n  - pip\n  - pip:\n    - azureml-inference-server-http\n"
                            "    - scikit-learn===\n",
    "c-pip-unknown-option.yml": "name: x\ndependencies:\n  - python=3.11\n  - pip\n  - pip:\n    - --no-such-option\n"
                                "    - azureml-inference-server-http\n",
}


def h24b_cases() -> Iterator[Any]:
    from tests.config.bad_stacks import Case, _dump, _load

    def case(id_: str, stack: str, edit: Callable[[dict], None], key: str, fragment: str = "") -> Case:
        d = _load(stack)
        edit(d["config"])
        return Case(id_, "semantic", stack, _dump(d), key, fragment)

    m = "mldeploy:models"
    # -- secrets in plain text: list items under another namespace's key (the provider's registry login) --
    yield case("dev-docker-registry-auth-password", "dev", lambda c: c.update({"docker:registryAuth": [
        {"address": "mycorp.azurecr.io", "username": "ci", "password": "hunter2hunter2"}]}),
        "docker:registryAuth[0].password", "password, key or token in plain text")
    yield case("dev-other-namespace-token-list", "dev", lambda c: c.update({"myapp:tokens": ["ghp_abcdefghijklmnop0123"]}),
               "myapp:tokens[0]", "password, key or token in plain text")
    # -- file contents: a model folder whose every file is empty (a `.gitkeep` where the output never came) --
    for folder in ("hostile/model-only-gitkeep", "hostile/model-empty-files"):
        yield case(f"local-model-folder-{folder.split('/')[-1]}", "local",
                   lambda c, f=folder: c[m]["diabetes"].update(path=f), f"{m}.diabetes.path", "only empty files")
    # -- file contents: init()/run() only under a block that never runs on import, bound to a literal,
    #    deleted, or an init() that is a generator (calling it runs none of its body) ----------------------
    i, b = "mldeploy:images", "mldeploy:batch"
    for name, fragment in (("s-main-guard.py", "defines no init() and no run()"), ("s-main-guard-run.py", "no run()"),
                           ("s-type-checking.py", "TYPE_CHECKING"), ("s-if-false.py", "defines no init()"),
                           ("s-run-none.py", "binds run to a literal value"), ("s-init-str.py", "binds init to a literal"),
                           ("s-del-run.py", "defines no run()"), ("s-init-generator.py", "generator function")):
        yield case(f"dev-entry-{name[:-3]}", "dev", lambda c, n=name: c[i]["diabetes"].update(entryScript=f"hostile/{n}"),
                   f"{i}.diabetes.entryScript", fragment)
    for name in ("s-main-guard.py", "s-init-generator.py"):
        yield case(f"batch-entry-{name[:-3]}", "batch", lambda c, n=name: c[b]["nightly"].update(entryScript=f"hostile/{n}"),
                   f"{b}.nightly.entryScript", "")
    # -- file contents: requirements lines pip's option parser refuses; conda `pip:` lines pip cannot read --
    for name, fragment in (("r-unknown-option.txt", "pip has no option '--no-such-option'"),
                           ("r-option-without-value.txt", "--index-url needs a value"),
                           ("r-unknown-short-option.txt", "pip has no option '-x'"),
                           ("r-requirement-unknown-option.txt", "pip has no option '--no-deps'")):
        yield case(f"dev-requirements-{name[:-4]}", "dev", lambda c, n=name: (
            c[i]["diabetes"].pop("condaFile"), c[i]["diabetes"].update(requirementsFile=f"hostile/{n}")),
            f"{i}.diabetes.requirementsFile", fragment)
    yield case("batch-requirements-unknown-option", "batch", lambda c: (
        c[b]["nightly"].pop("condaFile"), c[b]["nightly"].update(requirementsFile="hostile/r-unknown-option.txt")),
        f"{b}.nightly.requirementsFile", "pip has no option")
    for name, fragment in (("c-pip-not-pep508.yml", "is not a requirement (PEP 508"),
                           ("c-pip-unknown-option.yml", "pip has no option '--no-such-option'")):
        yield case(f"dev-conda-{name[:-4]}", "dev", lambda c, n=name: c[i]["diabetes"].update(condaFile=f"hostile/{n}"),
                   f"{i}.diabetes.condaFile", fragment)


def h24b_valid_cases() -> Iterator[Any]:
    """Valid neighbours of the rules above (run by tests/cli/test_valid_stacks.py: synth exits 0)."""
    from tests.config.bad_stacks import Case, _dump, _load

    def case(id_: str, klass: str, stack: str, edit: Callable[[dict], None]) -> Case:
        d = _load(stack)
        edit(d["config"])
        return Case(id_, klass, stack, _dump(d), "")

    # Lists under other namespaces that hold no credential: names, regions, numbers, a registry login
    # whose password is `secure:`.
    yield case("dev-other-namespace-lists", "secrets", "dev", lambda c: c.update({
        "myapp:allowedKeys": ["model", "version"], "myapp:regions": ["westeurope", "northeurope"], "myapp:ports": [80, 443],
        "docker:registryAuth": [{"address": "mycorp.azurecr.io", "username": "ci",
                                 "password": {"secure": "v1:AAAAAAAAAAAAAAAA:aHVudGVyMg=="}}]}))
    # A model folder with an empty `.gitkeep` beside the model file.
    yield case("local-model-folder-with-gitkeep", "files", "local",
               lambda c: c["mldeploy:models"]["diabetes"].update(path="valid/model-with-gitkeep"))


def h24b_more_cases() -> Iterator[Any]:
    """Second batch: secrets in JSON text, pasted config files and prose; edge modes and sizes."""
    from tests.config.bad_stacks import Case, _dump, _load

    def case(id_: str, stack: str, edit: Callable[[dict], None], key: str, fragment: str = "") -> Case:
        d = _load(stack)
        edit(d["config"])
        return Case(id_, "semantic", stack, _dump(d), key, fragment)

    e, b = "mldeploy:edge", "mldeploy:batch"
    # -- secrets in plain text: an object set as JSON text, a kubeconfig pasted whole, a URL with a password
    #    inside prose, a licence key --------------------------------------------------------------------
    yield case("dev-other-namespace-json-text-password", "dev", lambda c: c.update(
        {"myapp:db": '{"host": "db.example.com", "password": "hunter2hunter2"}'}), "myapp:db.password", "plain text")
    yield case("dev-kubeconfig-token", "dev", lambda c: c.update({"kubernetes:kubeconfig": (
        "apiVersion: v1\nkind: Config\nusers:\n- name: ci\n  user:\n    token: 0123456789abcdef0123456789abcdef\n")}),
        "kubernetes:kubeconfig", "plain text")
    yield case("dev-kubeconfig-client-key", "dev", lambda c: c.update({"kubernetes:kubeconfig": (
        "apiVersion: v1\nusers:\n- name: ci\n  user:\n    client-key-data: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQo=\n")}),
        "kubernetes:kubeconfig", "plain text")
    yield case("batch-description-url-password", "batch", lambda c: c[b]["nightly"].update(
        description="Reads rows from postgres://scorer:hunter2@db.example.com/scores"), f"{b}.nightly.description",
        "looks like a password")
    yield case("edge-env-license-key", "edge", lambda c: c[e]["clinics"]["env"].update(LICENSE_KEY="ABCD-EFGH-IJKL-MNOP"),
               f"{e}.clinics.env", "password, key or token")
    # -- a key of another mode: hostPort with Docker's host network (port bindings are discarded) ----------
    yield case("edge-host-port-with-host-network", "edge", lambda c: c[e]["clinics"].update(
        hostPort=8080, createOptions={"HostConfig": {"NetworkMode": "host"}}), f"{e}.clinics.createOptions",
        "applies only with Docker's bridge network")
    # -- sizes: env alone past IoT Edge's createOptions (it is written there as Env): named as env, not as
    #    the internal field name `create_options` -----------------------------------------------------------
    yield case("edge-env-past-create-options-size", "edge", lambda c: c[e]["clinics"]["env"].update(MODEL_CONFIG="x" * 5000),
               f"{e}.clinics", "env makes the module's createOptions")
    # -- one Azure ML asset name for two entries: `mldeploy-<service>` of a v2 endpoint is also
    #    `mldeploy-batch-<entry>` (service `batch-nightly`, batch entry `nightly`) ------------------------------
    import copy

    s, i = "mldeploy:services", "mldeploy:images"

    def one_deployment(c: dict) -> None:
        deployments = c[s]["diabetes"]["deployments"]
        deployments.pop("shadow"), deployments.pop("green")
        deployments["blue"]["trafficPercent"] = 100
        c.pop("mldeploy:endpointQuota", None)

    def batch_and_service(c: dict) -> None:
        one_deployment(c)
        c[i]["nightly"] = copy.deepcopy(c[i]["diabetes"])
        c[s]["batch-nightly"] = copy.deepcopy(c[s]["diabetes"])
        c[s]["batch-nightly"]["deployments"]["blue"]["image"] = "nightly"
        c[b] = {"nightly": {"model": "diabetes", "entryScript": "examples/diabetes/batch_score.py",
                            "condaFile": "examples/diabetes/batch-env.yml"}}
    yield case("managed-asset-name-is-batch-entrys", "managed", batch_and_service, f"{b}.nightly", "Azure ML asset name")

    # (Two services never share an asset name since it is `mldeploy-<service>`: service `diabetes-diabetes`
    # with image `v2` and service `diabetes` with image `diabetes-v2` met under mldeploy-<service>-<image>.)


def h24b_more_valid_cases() -> Iterator[Any]:
    """Valid neighbours of h24b_more_cases."""
    from tests.config.bad_stacks import Case, _dump, _load

    def case(id_: str, klass: str, stack: str, edit: Callable[[dict], None]) -> Case:
        d = _load(stack)
        edit(d["config"])
        return Case(id_, klass, stack, _dump(d), "")

    e = "mldeploy:edge"
    # JSON text and a multi-line settings value without a credential (a TTL named after tokens, a reference).
    yield case("dev-other-namespace-json-and-file-text", "secrets", "dev", lambda c: c.update({
        "myapp:db": '{"host": "db.example.com", "port": 5432, "passwordFile": "/run/secrets/db"}',
        "myapp:settings": "token_ttl: 3600\npassword: ${DB_PASSWORD}\nsecret:\nregion: westeurope\n"}))
    # A description with a URL that carries a user but no password, and one with a port.
    yield case("batch-description-urls", "secrets", "batch", lambda c: c["mldeploy:batch"]["nightly"].update(
        description="Input from git+ssh://git@github.com/contoso/data and http://files.example.com:8080/rows"))
    # Docker's host network with hostPort equal to port (or omitted): nothing is discarded that was meant.
    yield case("edge-host-network-host-port-is-port", "createOptions", "edge", lambda c: c[e]["clinics"].update(
        hostPort=5001, createOptions={"HostConfig": {"NetworkMode": "host"}}))
