"""`serve --reload`'s decisions (mldeploy/cli/serve_reload.py) without processes: what a change
swaps, what it leaves alone, and how often it walks the sourceDirectory. The real processes are
tests/runtime/test_serve_reload_e2e.py."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.config.test_source_directory import _project


class _Run:
    """A Reloader over an unstarted LocalServer of `root`'s local stack, whose swaps are recorded."""

    def __init__(self, root: Path, monkeypatch):
        import mldeploy.config.source_directory as source_directory
        from mldeploy.cli.serve import logs_command
        from mldeploy.cli.serve_reload import Reloader
        from mldeploy.plan.models import resolve_model
        from mldeploy.render.build_context import render_build_context
        from mldeploy.runtime.local import LocalServer
        from mldeploy.targets import target_of
        from mldeploy.targets.stack import load_stack

        self.walks, self.swaps, self.lines = [], [], []
        real_walk = source_directory._walk
        monkeypatch.setattr(source_directory, "_walk", lambda value, at: self.walks.append(value) or real_walk(value, at))

        def prepare(image_name: str, settings):
            image = settings.images[image_name]
            models = [resolve_model(m, settings.models[m], root) for m in image.models]
            return render_build_context(image_name, image, models, root), None

        settings = load_stack(root, "local")
        [name] = settings.services
        service = settings.services[name]
        logs = logs_command("local", name, True)
        plan = target_of(service).serve_plan(name, service, settings, logs)
        server = LocalServer(plan, prepare(service.image, settings)[0], None, root / ".mldeploy" / "x", port=0)
        monkeypatch.setattr(server, "swap_images", lambda changes, timeout:
                            self.swaps.extend(context for context, _ in changes.values()) or 1.0)
        self.reloader = Reloader(root, settings, {name: server}, prepare=prepare, smoke_test=lambda *a: None,
                                 timeout=5, logs_command=lambda n: logs, info=self.lines.append)
        self.walks.clear()

    def reload(self, *changed: Path) -> None:
        self.reloader._reload(set(changed))


@pytest.fixture
def run(tmp_path, monkeypatch):
    root = _project(tmp_path)
    (root / "src" / ".amlignore").write_text("data/\n")
    (root / "src" / "data").mkdir()
    started = _Run(root, monkeypatch)
    yield started
    started.reloader.stop()


def test_a_shipped_change_is_one_walk_one_swap_and_one_line_naming_it(run):
    root = run.reloader.root
    (root / "src" / "helpers.py").write_text("SCALE = 3\n")
    run.reload(root / "src" / "helpers.py")
    assert run.walks == ["src"], f"one walk of the sourceDirectory per reload, not {run.walks}"
    assert [c.files["app/helpers.py"] for c in run.swaps] == [b"SCALE = 3\n"]
    assert run.lines[0].startswith("reload: src/helpers.py changed: starting a new scorer for clf"), run.lines


def test_an_ignored_change_renders_but_swaps_nothing_and_says_nothing(run):
    root = run.reloader.root
    (root / "src" / "data" / "rows.csv").write_text("1,2\n")
    run.reload(root / "src" / "data" / "rows.csv")
    assert run.swaps == [] and run.lines == [], run.lines


def test_the_watcher_drops_what_the_ignore_file_leaves_out_and_keeps_the_ignore_file(run):
    root = run.reloader.root
    watch = run.reloader.watcher.watch
    paths = {root / "src" / "data" / "rows.csv", root / "src" / "__pycache__" / "x.pyc", root / "src" / "helpers.py",
             root / "src" / ".amlignore"}
    assert watch.shipped_or_unsure(paths) == {root / "src" / "helpers.py", root / "src" / ".amlignore"}


def test_a_gateway_setting_in_the_stack_file_says_restart_serve(run):
    root = run.reloader.root
    stack = root / "stacks" / "Pulumi.local.yaml"
    text = stack.read_text()
    assert "      target: local\n" in text
    stack.write_text(text.replace("      target: local\n", "      target: local\n      authEnabled: false\n"))
    run.reload(stack)
    assert run.swaps == []
    assert run.lines == ["reload: stacks/Pulumi.local.yaml changes how clf is served (authEnabled): "
                         "restart serve to apply it"], run.lines


@pytest.mark.parametrize("where", ["images", "services"])
def test_an_environment_variables_change_is_a_reload_with_the_new_environment(run, monkeypatch, where):
    """environmentVariables (the image's or the service's) reach only the scorer: a new scorer with the
    new environment is swapped in, no `restart serve`; a failed swap keeps the running environment."""
    from mldeploy.runtime.processes import StartError

    root = run.reloader.root
    [server] = run.reloader.served.values()
    server.run_dir.mkdir(parents=True)  # where a served change's endpoint file is written again
    stack = root / "stacks" / "Pulumi.local.yaml"
    text = stack.read_text()
    key = {"images": "      entryScript: score.py\n", "services": "      target: local\n"}[where]
    assert key in text
    stack.write_text(text.replace(key, key + "      environmentVariables:\n        FEATURE_FLAG: \"on\"\n"))
    environments = []
    monkeypatch.setattr(server, "swap_images", lambda changes, timeout:
                        environments.append(dict(server.plan.environment)) or 1.0)
    run.reload(stack)
    assert environments == [{"FEATURE_FLAG": "on"}], run.lines
    assert run.lines[0] == ("reload: stacks/Pulumi.local.yaml (environmentVariables) changed: starting a new "
                            "scorer for clf (the running one answers until it is ready)"), run.lines
    assert not any("restart serve" in line for line in run.lines), run.lines
    assert "reload: clf serves the new environment (ready in 1.0 s)" in run.lines, run.lines
    assert dict(server.plan.environment) == {"FEATURE_FLAG": "on"}

    def failing(changes, timeout):
        raise StartError("the new scorer exited (code 3) before it was ready: boom")

    monkeypatch.setattr(server, "swap_images", failing)
    stack.write_text(stack.read_text().replace('FEATURE_FLAG: "on"', 'FEATURE_FLAG: "off"'))
    run.reload(stack)
    assert run.lines[-1].startswith("error: reload of clf: the new scorer exited"), run.lines
    assert dict(server.plan.environment) == {"FEATURE_FLAG": "on"}, "the environment it serves"


def test_environment_changes_tells_an_environment_change_from_a_gateway_change():
    from dataclasses import replace

    from mldeploy.cli.serve_reload import environment_changes
    from mldeploy.plan.serve import DeploymentServe, EndpointServePlan

    blue, green = DeploymentServe("blue", "a", 1, 1000, ()), DeploymentServe("green", "b", 1, 1000, (("X", "1"),))
    plan = EndpointServePlan("e", (blue, green), ("a", "b"), "", gateway=None)
    assert environment_changes(plan, plan) == set()
    assert environment_changes(plan, replace(plan, deployments=(blue, replace(green, environment=())))) == {"b"}
    assert environment_changes(plan, replace(plan, deployments=(blue, replace(green, workers=2)))) is None


def test_a_source_directory_deleted_and_made_again_is_watched_again(run):
    """inotify's watch of a deleted folder is gone; a folder made again under its name is not
    watched (a branch switch, a restore from a copy): the reloader watches it anew and renders."""
    import shutil
    import time

    root = run.reloader.root
    kept = root.parent / "kept-src"
    shutil.copytree(root / "src", kept)
    shutil.rmtree(root / "src")
    deadline, seen = time.monotonic() + 10, set()
    while root / "src" not in seen and time.monotonic() < deadline:  # the deletion's batch, taken here: a
        seen |= run.reloader.watcher.changes()                       # reload now would fail on the missing folder
        time.sleep(0.1)
    assert run.reloader.watcher.lost == {root / "src"}, "the deletion is seen"
    shutil.copytree(kept, root / "src")
    (root / "src" / "helpers.py").write_text("SCALE = 4\n")
    deadline = time.monotonic() + 10
    while not run.swaps and time.monotonic() < deadline:
        run.reloader.poll()
        time.sleep(0.2)
    assert [c.files["app/helpers.py"] for c in run.swaps] == [b"SCALE = 4\n"], run.lines
    (root / "src" / "helpers.py").write_text("SCALE = 5\n")  # and the new watch sees the next save
    deadline = time.monotonic() + 10
    while len(run.swaps) < 2 and time.monotonic() < deadline:
        run.reloader.poll()
        time.sleep(0.2)
    assert [c.files["app/helpers.py"] for c in run.swaps][-1] == b"SCALE = 5\n", run.lines


def test_a_canary_reloads_its_images_in_place_and_names_a_split_change_for_a_restart(tmp_path, trained_model):
    """A split of gateways (targets/serving.py SplitPlan): the same stack file plans the same split;
    a variant's workers or timeout are settings serve restarts for, named as such; canary.trafficPercent
    moves in place (test_a_traffic_move_reweights_the_ingress_and_restarts_no_scorer)."""
    from mldeploy.cli.serve_reload import plan_changes
    from mldeploy.plan.scorer import image_envs
    from mldeploy.targets.aks.local import LocalCanary
    from mldeploy.targets.stack import load_stack
    from tests.runtime.test_serve_canary_cli import canary_project

    root = canary_project(tmp_path / "project")
    settings = load_stack(root, "canary")
    service = settings.services["diabetes"]
    server = LocalCanary("diabetes", service, {"diabetes": None, "diabetes-v2": None}, {"diabetes": None, "diabetes-v2": None},
                         tmp_path / "run", port=0, image_env=image_envs(settings.images))
    assert server.plan_for(service, image_envs(settings.images)) == server.plan
    assert server.plan.images == ("diabetes", "diabetes-v2")
    shifted = service.model_copy(update={"canary": service.canary.model_copy(update={"traffic_percent": 20})})
    assert plan_changes(server.plan, server.plan_for(shifted, image_envs(settings.images))) == ["trafficPercent"]
    busier = service.model_copy(update={"scoring_timeout_ms": service.scoring_timeout_ms + 1000})
    assert "scoringTimeoutMs" in plan_changes(server.plan, server.plan_for(busier, image_envs(settings.images)))
    # The canary image's environmentVariables: a reload of that image's variant, its plan adopted.
    from mldeploy.cli.serve_reload import adopt_plan, environment_changes
    flagged = server.plan_for(service, {**image_envs(settings.images), "diabetes-v2": {"FEATURE_FLAG": "on"}})
    assert environment_changes(server.plan, flagged) == {"diabetes-v2"}
    assert environment_changes(server.plan, server.plan_for(shifted, image_envs(settings.images))) == set()
    assert environment_changes(server.plan, server.plan_for(busier, image_envs(settings.images))) is None
    adopt_plan(server, flagged)
    assert server.plan == flagged and {label: dict(s.plan.environment).get("FEATURE_FLAG")
                                       for label, s in server.revisions.items()} == {"stable": None, "canary": "on"}


def test_an_endpoint_whose_images_change_together_swaps_them_in_one_step_and_keeps_its_plan_on_failure(
        tmp_path, monkeypatch):
    """The managed stack (blue: image diabetes; green and shadow: diabetes-v2): a save that changes
    both images' environmentVariables is one swap of both, all or nothing (runtime/swap.py). When it
    fails, the endpoint's plan is the one that runs. Before, image diabetes was swapped in first, and
    the second image's failure left the new plan recorded while green still ran the old environment
    (a later code change would have started green's next scorer with an environment never reloaded)."""
    from mldeploy.cli.serve import logs_command
    from mldeploy.cli.serve_reload import Reloader
    from mldeploy.plan.models import resolve_model
    from mldeploy.render.build_context import render_build_context
    from mldeploy.runtime.endpoint_local import LocalEndpoint
    from mldeploy.runtime.processes import StartError
    from mldeploy.targets import target_of
    from mldeploy.targets.stack import load_stack
    from tests.harness import copy_project

    root = copy_project(tmp_path / "project", "managed")

    def prepare(image_name: str, settings):
        image = settings.images[image_name]
        models = [resolve_model(m, settings.models[m], root) for m in image.models]
        return render_build_context(image_name, image, models, root), None

    settings = load_stack(root, "managed")
    service = settings.services["diabetes"]
    logs = logs_command("managed", "diabetes", False)
    plan = target_of(service).serve_plan("diabetes", service, settings, logs)
    server = LocalEndpoint(plan, {i: prepare(i, settings)[0] for i in plan.images}, {i: None for i in plan.images},
                           tmp_path / "run", port=0)
    swaps, lines = [], []

    def failing(changes, timeout):
        swaps.append(sorted(changes))
        raise StartError("the new scorer of deployment 'green' exited (code 3) before it was ready: boom")

    monkeypatch.setattr(server, "swap_images", failing)
    reloader = Reloader(root, settings, {"diabetes": server}, prepare=prepare, smoke_test=lambda *a: None, timeout=5,
                        logs_command=lambda n: logs, info=lines.append)
    try:
        stack = root / "stacks" / "Pulumi.managed.yaml"
        text = stack.read_text()
        for description in ("Diabetes scoring environment\n", "Diabetes scoring environment, model version 2\n"):
            assert f"      description: {description}" in text
            text = text.replace(f"      description: {description}", f"      description: {description}"
                                "      environmentVariables:\n        FEATURE_FLAG: \"on\"\n")
        stack.write_text(text)
        reloader._reload({stack})
    finally:
        reloader.stop()
    assert swaps == [["diabetes", "diabetes-v2"]], "both images in one swap"
    assert lines[-1] == ("error: reload of diabetes's images diabetes, diabetes-v2: the new scorer of deployment "
                         "'green' exited (code 3) before it was ready: boom; diabetes still serves the previous code: "
                         "save a fix to reload"), lines
    assert server.plan == plan, "the plan recorded is the one that runs"


def _split_reloader(root: Path, stack: str, server_of, monkeypatch, lines: list[str], name: str = "diabetes"):
    """A Reloader of `root`'s `stack` over the runner `server_of(name, service, settings, prepare)`
    builds for service `name` (unstarted; its swaps do nothing)."""
    from mldeploy.cli.serve_reload import Reloader
    from mldeploy.plan.models import resolve_model
    from mldeploy.render.build_context import render_build_context
    from mldeploy.targets.stack import load_stack

    def prepare(image_name: str, settings):
        image = settings.images[image_name]
        models = [resolve_model(m, settings.models[m], root) for m in image.models]
        return render_build_context(image_name, image, models, root), None

    settings = load_stack(root, stack)
    server = server_of(name, settings.services[name], settings, prepare)
    monkeypatch.setattr(server, "swap_images", lambda changes, timeout: 1.0)
    return Reloader(root, settings, {name: server}, prepare=prepare, smoke_test=lambda *a: None,
                    timeout=5, logs_command=lambda n: "", info=lines.append)


def _edit_service(stack_file: Path, change, name: str = "diabetes", section: str = "mldeploy:services") -> None:
    import yaml

    document = yaml.safe_load(stack_file.read_text())
    change(document["config"][section][name])
    stack_file.write_text(yaml.safe_dump(document))


def _served_split(tmp_path: Path, monkeypatch, split: str = "aca"):
    """A Reloader over the unstarted split runner of a project's stack `split` (aca: a container app's blue
    and green at 50/50; canary: an AKS canary at 50 %), whose swaps record their images and, as a real swap,
    leave the new contexts served: (project, reloader, runner, its lines, the images of each swap)."""
    from mldeploy.plan.scorer import image_envs
    from mldeploy.targets.aks.local import LocalCanary
    from mldeploy.targets.containerapp.local import LocalRevisions
    from tests.runtime.test_serve_canary_cli import canary_project
    from tests.runtime.test_serve_containerapp_cli import aca_project

    aca = split == "aca"
    root = (aca_project if aca else canary_project)(tmp_path / "project")
    runner = LocalRevisions if aca else LocalCanary

    def server_of(name, service, settings, prepare):
        contexts = {image: prepare(image, settings)[0] for image in ("diabetes", "diabetes-v2")}
        return runner(name, service, contexts, {image: None for image in contexts}, tmp_path / "run", port=0,
                      image_env=image_envs(settings.images))

    lines: list[str] = []
    reloader = _split_reloader(root, split, server_of, monkeypatch, lines, name="diabetes-aca" if aca else "diabetes")
    [server] = reloader.served.values()
    server.run_dir.mkdir(parents=True)  # where a reload publishes the endpoint file anew
    swapped: list[list[str]] = []

    def swap(changes, timeout):
        swapped.append(sorted(changes))
        for label, (image, _) in server.shares.items():
            if image in changes:
                server.revisions[label].context = changes[image][0]
        return 1.0

    monkeypatch.setattr(server, "swap_images", swap)
    return root, reloader, server, lines, swapped


def _kept_line(kept: str) -> str:
    return (f"reload: diabetes-aca's revision blue keeps {kept}: a revision is immutable, and `pulumi up` gives a change "
            "only to the template's new revision (green, image diabetes-v2); the stack file now names for blue a "
            "revision no run creates (`mldeploy diff` warns: missing-revision; "
            "docs/containerapp.md#revisions-and-the-traffic-split)")


def test_a_container_apps_environment_change_reaches_only_the_templates_revision(tmp_path, trained_model,
                                                                                 monkeypatch):
    """A container app at blue (image diabetes) / green (diabetes-v2, the template's `image`): an
    environmentVariables entry saved under the service is every label's in the stack file, but `pulumi up`
    makes a new revision of the template only, and blue's revision is immutable (its environment stays).
    So only green gets a new scorer, blue serves on with its own environment, and serve says so, once.
    Before, both labels' scorers were swapped to the new environment. An AKS canary's variants are
    Deployments updated in place: both take it."""
    from mldeploy.plan.scorer import image_envs
    from mldeploy.targets.aks.local import LocalCanary
    from mldeploy.targets.stack import load_stack
    from tests.runtime.test_serve_canary_cli import canary_project

    root, reloader, server, lines, swapped = _served_split(tmp_path, monkeypatch)
    stack_file = root / "stacks" / "Pulumi.aca.yaml"
    held = _kept_line("the environmentVariables it was created with")

    def flags() -> dict[str, str | None]:
        return {label: dict(s.plan.environment).get("FEATURE_FLAG") for label, s in server.revisions.items()}

    try:
        _edit_service(stack_file, lambda s: s.update(environmentVariables={"FEATURE_FLAG": "on"}), "diabetes-aca")
        reloader._reload({stack_file})
        assert swapped == [["diabetes-v2"]], "green's image alone gets a new scorer"
        assert flags() == {"blue": None, "green": "on"}
        assert lines[0] == held, lines
        assert lines[1:] == ["reload: stacks/Pulumi.aca.yaml (environmentVariables) changed: starting a new scorer for "
                             "diabetes-aca's revision green (image diabetes-v2; the running one answers until it is "
                             "ready)",
                             "reload: diabetes-aca's image diabetes-v2 serves the new environment (ready in 1.0 s)"], lines
        lines.clear()
        reloader._reload({stack_file})  # saved again unchanged: nothing swapped, nothing said again
        assert (swapped, lines) == ([["diabetes-v2"]], []), lines
        # blue's own image's environment: no label's new revision, nothing swapped; said for the new value.
        _edit_service(stack_file, lambda i: i.update(environmentVariables={"BLUE_ONLY": "1"}), "diabetes",
                      "mldeploy:images")
        reloader._reload({stack_file})
        assert (swapped, flags(), lines) == ([["diabetes-v2"]], {"blue": None, "green": "on"}, [held]), lines
    finally:
        reloader.stop()

    canary_root = canary_project(tmp_path / "canary")
    settings = load_stack(canary_root, "canary")
    service = settings.services["diabetes"]
    canary = LocalCanary("diabetes", service, {"diabetes": None, "diabetes-v2": None}, {"diabetes": None, "diabetes-v2": None},
                         tmp_path / "canary-run", port=0, image_env=image_envs(settings.images))
    plan, kept = canary.reload_plan(service.model_copy(update={"environment_variables": {"FEATURE_FLAG": "on"}}),
                                    image_envs(settings.images))
    assert kept == {} and {label: dict(p.environment).get("FEATURE_FLAG") for label, p in plan.variants} == {
        "stable": "on", "canary": "on"}


def test_a_container_apps_older_label_keeps_its_image_when_its_files_change(tmp_path, trained_model, monkeypatch):
    """blue (image diabetes) and green (diabetes-v2, the template's) share score.py: a saved change rebuilds
    both images, but `pulumi up` makes a new revision of the template only and blue's revision keeps the
    image it was created with. So green alone gets a new scorer and serve says blue keeps its image, once
    for each change. Before, blue's scorer was swapped to the new code too (an AKS canary's both are:
    tests/runtime/test_serve_reload_e2e.py)."""
    root, reloader, server, lines, swapped = _served_split(tmp_path, monkeypatch)
    score = root / "examples" / "diabetes" / "score.py"
    kept = _kept_line("image diabetes it was created with (examples/diabetes/score.py changed)")
    try:
        score.write_text(score.read_text() + "\n# a comment\n")
        reloader._reload({score})
        assert swapped == [["diabetes-v2"]], "green's image alone gets a new scorer"
        assert lines[0] == kept and lines[1].startswith("reload: examples/diabetes/score.py changed: starting a new "
                                                        "scorer for diabetes-aca's revision green (image diabetes-v2"), lines
        lines.clear()
        reloader._reload({score})  # the same files again: nothing more
        assert (swapped, lines) == ([["diabetes-v2"]], []), lines
        score.write_text(score.read_text() + "# another\n")
        reloader._reload({score})
        assert swapped == [["diabetes-v2"]] * 2 and lines[0] == kept, lines
    finally:
        reloader.stop()


def test_a_model_version_bump_names_the_stack_file_not_the_unchanged_model_file(tmp_path, trained_model, monkeypatch):
    """Day 2 on an AKS canary: models.diabetes-v2.version 2 -> 3 (the same file) moves the model's folder in the
    canary image's context, so its scorer is swapped - as the canary Deployment rolls - but the line named the
    model file as changed (`reload: examples/diabetes/outputs/v2/sklearn_regression_model.pkl,
    stacks/Pulumi.canary.yaml changed`) and then `serves the new code`; the stack file is what changed, and the
    image is new, not its code."""
    root, reloader, server, lines, swapped = _served_split(tmp_path, monkeypatch, "canary")
    stack_file = root / "stacks" / "Pulumi.canary.yaml"
    try:
        _edit_service(stack_file, lambda model: model.update(version=3), "diabetes-v2", "mldeploy:models")
        reloader._reload({stack_file})
    finally:
        reloader.stop()
    assert swapped == [["diabetes-v2"]], lines
    assert lines[0] == ("reload: stacks/Pulumi.canary.yaml changed: starting a new scorer for diabetes's variant "
                        "canary (image diabetes-v2; the running one answers until it is ready)"), lines
    assert lines[1] == "reload: diabetes's image diabetes-v2 serves the new image (ready in 1.0 s)", lines


@pytest.mark.parametrize("split", ["aca", "canary"])
def test_a_revision_scope_setting_says_restart_and_on_a_container_app_what_azure_does_instead(
        tmp_path, trained_model, monkeypatch, split):
    """scoringTimeoutMs changed: serve restarts for it (a variant's gateway and scorer), and a restart gives it
    to every label; on Azure a container app's older label keeps its revision (only the template's is new),
    which the line now says. An AKS canary's Deployments both roll: nothing to add."""
    root, reloader, server, lines, swapped = _served_split(tmp_path, monkeypatch, split)
    try:
        _edit_service(root / "stacks" / f"Pulumi.{split}.yaml", lambda s: s.update(scoringTimeoutMs=70000), server.name)
        reloader._reload({root / "stacks" / f"Pulumi.{split}.yaml"})
    finally:
        reloader.stop()
    restart = (f"reload: stacks/Pulumi.{split}.yaml changes how {server.name} is served (scoringTimeoutMs): restart "
               "serve to apply it")
    assert lines == [restart + (" (a restart gives it to every label; on Azure only the template's new revision, "
                                "green's, has it and blue keeps its own: `mldeploy diff` warns of the revision the "
                                "stack file then names for them)" if split == "aca" else "")], lines
    assert swapped == []


@pytest.mark.parametrize("split", ["aca", "canary"])
def test_a_traffic_move_reweights_the_ingress_and_restarts_no_scorer(tmp_path, trained_model, monkeypatch, split):
    """Day 2's promotion by traffic: a container app's trafficPercent (app-scope: no revision made or
    restarted) or an AKS canary's (a ConfigMap its gateways reload) moves the split in place - the
    ingress's weights - with no scorer swapped; with an environmentVariables change in the same save
    both apply. Before, serve said `restart serve` for it, and a restart started every label from the
    stack file (a container app's older labels with an environment Azure never gave them)."""
    aca = split == "aca"
    root, reloader, server, lines, swapped = _served_split(tmp_path, monkeypatch, split)
    name, stack_file = server.name, root / "stacks" / f"Pulumi.{split}.yaml"
    weights = []
    monkeypatch.setattr(server.ingress, "reweight", lambda upstreams: weights.append([u.weight for u in upstreams]))
    moves = "blue 50 -> 0 %, green 50 -> 100 %" if aca else "stable 50 -> 80 %, canary 50 -> 20 %"

    def move(service):
        if aca:
            service["revisions"]["blue"]["trafficPercent"], service["revisions"]["green"]["trafficPercent"] = 0, 100
        else:
            service["canary"]["trafficPercent"] = 20

    try:
        _edit_service(stack_file, move, name)
        reloader._reload({stack_file})
        assert lines == [f"reload: {name}'s traffic moves ({moves}): the ingress splits by the new shares; every scorer "
                         "serves on (a traffic change restarts none)"], lines
        assert (swapped, weights) == ([], [[0, 100] if aca else [80, 20]])
        assert dict(server.plan.traffic_percent) == ({"blue": 0, "green": 100} if aca else {"stable": 80, "canary": 20})
        lines.clear()
        _edit_service(stack_file, lambda s: (s.update(environmentVariables={"FEATURE_FLAG": "on"}),
                                             s["revisions"].update(blue={"image": "diabetes", "trafficPercent": 30},
                                                                   green={"image": "diabetes-v2", "trafficPercent": 70})
                                             if aca else s["canary"].update(trafficPercent=30)), name)
        reloader._reload({stack_file})
        assert swapped == ([["diabetes-v2"]] if aca else [["diabetes", "diabetes-v2"]]), lines
        assert weights[-1] == ([30, 70] if aca else [70, 30]) and "restart serve" not in " ".join(lines), lines
    finally:
        reloader.stop()


def test_a_canary_promoted_or_added_while_served_says_restart_serve(tmp_path, trained_model, monkeypatch):
    """The AKS day 2 as a user runs it under `serve --reload`: the promotion (image set to the
    canary's, canary removed) was an AttributeError that ended serve (hwalk2); a canary added to a
    service served without one (a `git revert` of the promotion) was named `images`, and with the
    stable image unchanged not at all - the canary never ran. Both say `restart serve`, naming the variants."""
    from mldeploy.plan.scorer import image_envs
    from mldeploy.runtime.local import LocalServer
    from mldeploy.targets import target_of
    from mldeploy.targets.aks.local import LocalCanary
    from tests.runtime.test_serve_canary_cli import canary_project

    root = canary_project(tmp_path / "project")
    stack_file = root / "stacks" / "Pulumi.canary.yaml"
    restart = "reload: stacks/Pulumi.canary.yaml changes how diabetes is served ({}): restart serve to apply it"

    def canary(name, service, settings, prepare):
        contexts = {image: prepare(image, settings)[0] for image in (service.image, service.canary.image)}
        return LocalCanary(name, service, contexts, {image: None for image in contexts}, tmp_path / "run", port=0,
                           image_env=image_envs(settings.images))

    lines: list[str] = []
    reloader = _split_reloader(root, "canary", canary, monkeypatch, lines)
    try:
        _edit_service(stack_file, lambda s: s.update(image="diabetes-v2") or s.pop("canary"))
        reloader._reload({stack_file})
    finally:
        reloader.stop()
    assert lines == [restart.format("variants stable, canary -> none")], lines

    def one_scorer(name, service, settings, prepare):
        plan = target_of(service).serve_plan(name, service, settings, "")
        return LocalServer(plan, prepare(service.image, settings)[0], None, tmp_path / "one", port=0)

    lines.clear()
    reloader = _split_reloader(root, "canary", one_scorer, monkeypatch, lines)
    try:
        _edit_service(stack_file, lambda s: s.update(canary={"image": "diabetes", "trafficPercent": 10}))
        reloader._reload({stack_file})
    finally:
        reloader.stop()
    assert lines == [restart.format("variants none -> stable, canary")], lines


def test_the_served_image_changed_is_named_image_as_the_stack_file_says_it(tmp_path, trained_model):
    """A service's `image` (a split variant's too) changed: `(image)`, not the plan's `images` /
    `variantImages` (hwalk2's `git revert` of a promotion read `changes how churn is served (images)`);
    the scorer's environment: `environmentVariables`, not `environment`."""
    from mldeploy.cli.serve_reload import plan_changes
    from mldeploy.plan.scorer import image_envs
    from mldeploy.targets import target_of
    from mldeploy.targets.aks.local import LocalCanary
    from mldeploy.targets.stack import load_stack
    from tests.runtime.test_serve_canary_cli import canary_project

    root = canary_project(tmp_path / "project")
    settings = load_stack(root, "canary")
    service = settings.services["diabetes"]
    server = LocalCanary("diabetes", service, {"diabetes": None, "diabetes-v2": None}, {"diabetes": None, "diabetes-v2": None},
                         tmp_path / "run", port=0, image_env=image_envs(settings.images))
    swapped = service.model_copy(update={"canary": service.canary.model_copy(update={"image": "diabetes"})})
    assert plan_changes(server.plan, server.plan_for(swapped, image_envs(settings.images))) == ["image"]
    # The traffic moved and an environment variable changed in one save (hwalk2's containerapp day 2
    # read `(trafficPercent, environment)`): both as the stack file spells them.
    shifted_and_flagged = service.model_copy(update={
        "canary": service.canary.model_copy(update={"traffic_percent": 20}), "environment_variables": {"F": "1"}})
    assert plan_changes(server.plan, server.plan_for(shifted_and_flagged, image_envs(settings.images))) == [
        "trafficPercent", "environmentVariables"], shifted_and_flagged
    alone = service.model_copy(update={"canary": None})
    serve_plan = target_of(alone).serve_plan
    assert plan_changes(serve_plan("diabetes", alone, settings, ""),
                        serve_plan("diabetes", alone.model_copy(update={"image": "diabetes-v2"}), settings, "")) == ["image"]
