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
