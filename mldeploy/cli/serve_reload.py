"""`mldeploy serve --reload`: the local development loop. A change to what a served image ships (its
entry script, its sourceDirectory's files as its .amlignore leaves them, its models, its environment
file) or to the stack file starts a new scorer beside the running one and swaps it in once its
init() has finished (runtime/swap.py). The gateway keeps its port and keys.
A change of environmentVariables alone does the same for the scorers whose environment changed.

Files are watched with watchfiles, the library `uvicorn --reload` uses (inotify, FSEvents or kqueue
through the Rust `notify` crate): a 2000-file sourceDirectory costs nothing between changes, where
polling would walk it every second. What counts as a change is decided by the image's build
context, not by file names: each batch of events renders the contexts again (one walk of each
sourceDirectory, with the image build's own ignore rules) and a service whose context digest did
not move - a file .amlignore leaves out, a save of the same bytes - is left alone.

Named --reload as uvicorn, gunicorn, hypercorn and flask (`flask run --reload`) name it: the
Python servers a score.py author knows; `--watch` (node, tsc, cargo-watch) restarts a whole process."""
from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Callable

import click

from mldeploy.contract import stack_file_path

RELOAD_EXTRA_HINT = ("--reload watches your files with the watchfiles package, which is not installed: "
                     "pip install 'mldeploy[reload]' (or pip install watchfiles)")


def require_watchfiles() -> None:
    """A usage error (exit 2, one line) when watchfiles is missing: it is an extra (pyproject.toml)."""
    try:
        import watchfiles  # noqa: F401
    except ImportError:
        raise click.UsageError(RELOAD_EXTRA_HINT) from None


@dataclass(frozen=True)
class WatchSet:
    """What `serve --reload` watches: `folders` with everything under them (sourceDirectories,
    model folders), `files` one by one (through their folders, not recursively: an editor that
    saves by writing a new file and renaming it over the old one replaces the file's inode).
    `source_folders` (among `folders`): what their ignore file leaves out is not watched."""

    folders: frozenset[Path]
    files: frozenset[Path]
    source_folders: frozenset[Path] = frozenset()

    def covers(self, path: Path) -> bool:
        return path in self.files or any(folder == path or folder in path.parents for folder in self.folders)

    def shipped_or_unsure(self, paths: set[Path]) -> set[Path]:
        """`paths` less those a sourceDirectory's ignore file (read now: it may have changed) leaves
        out - the walk's own rule (config/source_directory.py left_out). A change there changes no
        image; dropping it here saves rendering the contexts again (reading every model file)."""
        from mldeploy.config.source_directory import IGNORE_FILES, ignore_spec, left_out

        specs: dict[Path, Any] = {}
        kept = set()
        for path in paths:
            folder = next((f for f in self.source_folders if f in path.parents), None)
            its_ignore_file = folder is not None and path.parent == folder and path.name in IGNORE_FILES
            if folder is not None and not its_ignore_file:
                spec = specs.setdefault(folder, ignore_spec(folder)[1])
                if left_out(spec, path.relative_to(folder).as_posix()):
                    continue
            kept.add(path)
        return kept


def watch_set(settings, root: Path, contexts) -> WatchSet:
    """The stack file, every project file copied into the served images' build contexts, and the
    folders whose new files a context would take (a sourceDirectory, a model folder)."""
    from mldeploy.config.source_directory import IGNORE_FILES

    files = {root / stack_file_path(settings.stack)}
    folders, sources = set(), set()
    for context in contexts:
        files.update(path for _, path in context.sources)
        image = settings.images[context.image]
        if image.source_directory is not None:
            sources.add(root / image.source_directory)
            files.update(root / image.source_directory / name for name in IGNORE_FILES)
        folders.update(root / settings.models[m].path for m in image.models if (root / settings.models[m].path).is_dir())
    folders |= sources
    return WatchSet(frozenset(folders), frozenset(files - {f for f in files if any(d in f.parents for d in folders)}),
                    frozenset(sources))


class Watcher:
    """Two threads of watchfiles.watch, one over the folders (recursive), one over the files'
    folders (not recursive: a project's root holds .venv); the paths the set covers are queued."""

    def __init__(self, watch: WatchSet):
        self.watch = watch
        self._stop = threading.Event()
        self._changes: queue.Queue[set[Path]] = queue.Queue()
        self._threads: list[threading.Thread] = []
        # Watched folders that were deleted: their watch is gone, and inotify does not watch a
        # folder made again under the same name (measured: a file written in it then is not seen).
        self.lost: set[Path] = set()

    def start(self) -> None:
        parents = {f.parent for f in self.watch.files if f.parent.is_dir()}
        for folders, recursive in ((self.watch.folders, True), (parents, False)):
            if folders:
                thread = threading.Thread(target=self._run, args=(sorted(folders), recursive),
                                          name="mldeploy-reload-watch", daemon=True)
                thread.start()
                self._threads.append(thread)

    def _run(self, folders: list[Path], recursive: bool) -> None:
        from watchfiles import Change, watch

        for batch in watch(*folders, recursive=recursive, stop_event=self._stop, raise_interrupt=False,
                           debounce=400, step=100):
            self.lost |= {Path(path) for change, path in batch if change == Change.deleted} & set(folders)
            paths = self.watch.shipped_or_unsure({Path(path) for _, path in batch if self.watch.covers(Path(path))})
            if paths:
                self._changes.put(paths)

    def changes(self) -> set[Path]:
        """Every path changed since the last call (empty: none)."""
        out: set[Path] = set()
        while True:
            try:
                out |= self._changes.get_nowait()
            except queue.Empty:
                return out

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=6)  # watchfiles checks the event between its waits (rust_timeout 5 s at most)


def changed_files(old, new, root: Path) -> list[str]:
    """The project files (relative to `root`) whose copies differ between build contexts `old`
    and `new`, as a user names them. A file copied unchanged to another place in the context (a
    model whose `version` moved its folder) is not one: the stack file names that change."""
    sources = {**dict(old.sources), **dict(new.sources)}
    moved = {k for k in old.files.keys() | new.files.keys() if old.files.get(k) != new.files.get(k)}

    def copies(context, source: Path) -> set[bytes]:
        return {context.files[k] for k, path in context.sources if path == source and k in context.files}

    return sorted({_relative(sources[k], root) for k in moved if k in sources
                   and copies(old, sources[k]) != copies(new, sources[k])})


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _plan_fields(old, new) -> list[str]:
    return [f.name for f in fields(old) if getattr(old, f.name) != getattr(new, f.name)]


def plan_changes(old, new) -> list[str]:
    """The settings two serve plans differ in (a gateway or worker setting: serve restarts for it),
    camelCase as the stack file spells them; `gateway` (what its other fields feed) only alone."""
    names: list[str] = []
    for field in fields(old):
        before, after = getattr(old, field.name), getattr(new, field.name)
        if before == after:
            continue
        if field.name == "variants" and [label for label, _ in before] == [label for label, _ in after]:
            # A split's variants (targets/serving.py SplitPlan): what changed in their plans.
            names += [n for (_, a), (_, b) in zip(before, after) if a != b for n in _plan_fields(a, b)]
        else:
            names.append(field.name)
    # Named as the stack file says them: the served image(s), a split's per variant, are `image`; the
    # scorer's environment is `environmentVariables`.
    said = {"images": "image", "variant_images": "image", "environment": "environmentVariables"}
    names = list(dict.fromkeys(said.get(n, n) for n in names))
    names = [n for n in names if n != "gateway"] or names
    return [n.split("_")[0] + "".join(w.title() for w in n.split("_")[1:]) for n in names]


def split_change(old, new) -> str | None:
    """How service settings `old` and `new` differ in the variants they split traffic between (an
    AKS/FPGA canary added or removed, a container app's revision labels; the target's
    `log_variants`), as `variants stable, canary -> none`: serve runs another runner then, so it
    restarts for it. None: the same variants."""
    from mldeploy.targets import target_of

    variants = target_of(new).log_variants
    before, after = variants(old), variants(new)
    if before == after:
        return None
    return f"variants {', '.join(before) or 'none'} -> {', '.join(after) or 'none'}"


def _without_environment(plan):
    """`plan` less what a reload applies in place besides code: every scorer's environmentVariables (a
    LocalServer's, an endpoint's deployments', a split's variants') and a split's traffic shares (its
    ingress's weights: shift_traffic)."""
    from dataclasses import replace

    from mldeploy.plan.serve import EndpointServePlan, ServePlan
    from mldeploy.targets.serving import SplitPlan

    if isinstance(plan, ServePlan):
        return replace(plan, environment=())
    if isinstance(plan, EndpointServePlan):
        return replace(plan, deployments=tuple(replace(d, environment=()) for d in plan.deployments))
    if isinstance(plan, SplitPlan):
        return replace(plan, traffic_percent=(),
                       variants=tuple((label, _without_environment(p)) for label, p in plan.variants))
    return plan


def _environments(plan) -> dict[str, tuple]:
    """Each image's scorers' environmentVariables in `plan`, by image."""
    from mldeploy.plan.serve import EndpointServePlan, ServePlan
    from mldeploy.targets.serving import SplitPlan

    if isinstance(plan, ServePlan):
        return {image: (plan.environment,) for image in plan.images}
    if isinstance(plan, EndpointServePlan):
        return {image: tuple((d.name, d.environment) for d in plan.deployments if d.image == image)
                for image in plan.images}
    if isinstance(plan, SplitPlan):
        variants = dict(plan.variants)
        return {image: tuple((label, variants[label].environment) for label, its in plan.variant_images if its == image)
                for image in plan.images}
    return {}


def environment_changes(old, new) -> set[str] | None:
    """The images whose scorers' environmentVariables differ between serve plans `old` and `new`, when
    that is all that differs besides a split's traffic shares (a new scorer per deployment or variant
    applies it; the ingress the shares); None otherwise."""
    if _without_environment(old) != _without_environment(new):
        return None
    before, after = _environments(old), _environments(new)
    return {image for image in before.keys() | after.keys() if before.get(image) != after.get(image)}


def adopt_plan(server, plan) -> None:
    """Make `plan` (which differs from the server's in environmentVariables only) the one its next
    scorers are started from: a LocalServer's, a LocalEndpoint's, a split's and its variants'."""
    server.plan = plan
    for label, variant_plan in getattr(plan, "variants", ()):
        server.revisions[label].plan = variant_plan


class Reloader:
    """Between the serve loop's checks: the changes the watcher saw, applied to the served
    services that can swap their scorer (LocalServer); everything else says `restart serve`."""

    def __init__(self, root: Path, settings, served: dict[str, Any], *, prepare: Callable, smoke_test: Callable,
                 timeout: float, logs_command: Callable[[str], str], info: Callable[[str], None]):
        self.root, self.settings, self.served = root, settings, served
        self.prepare, self.smoke_test, self.timeout = prepare, smoke_test, timeout
        self.logs_command, self.info = logs_command, info
        self.failed: dict[tuple[str, str], str] = {}  # (service, image) -> the digest its last reload failed on
        self.kept: dict[tuple[str, str], str] = {}  # (service, image) -> the digest a variant kept its own image at
        self.watcher = Watcher(watch_set(settings, root, self._contexts()))
        self.watcher.start()

    def _contexts(self) -> list:
        return [c for s in self.served.values() if isinstance(s, _reloadable()) for c in s.contexts.values()]

    def stop(self) -> None:
        self.watcher.stop()

    def poll(self) -> None:
        changed = self.watcher.changes()
        lost = set(self.watcher.lost)
        if lost and all(folder.is_dir() for folder in lost):
            # A watched folder was deleted and is back (a branch switch, a restore): watch it anew,
            # and let the contexts say what changed while it was not watched.
            self.watcher.stop()
            self.watcher = Watcher(self.watcher.watch)
            self.watcher.start()
            changed |= lost
        if changed:
            self._reload(changed)

    def _reload(self, changed: set[Path]) -> None:
        from mldeploy.config import ConfigError
        from mldeploy.config.source_directory import walks_cached
        from mldeploy.runtime.env import EnvError
        from mldeploy.runtime.local import LocalServer, publish_endpoint
        from mldeploy.plan.scorer import image_envs
        from mldeploy.targets import target_of
        from mldeploy.targets.serving import SplitPlan, SplitReload
        from mldeploy.targets.stack import load_stack

        stack_file = stack_file_path(self.settings.stack)
        stack_changed = self.root / stack_file in changed
        served_as_filed = True  # every service serves what the stack file says now
        try:
            with walks_cached():  # one walk of each sourceDirectory for this reload
                settings = load_stack(self.root, self.settings.stack)
                wanted: dict[tuple[str, str], tuple[Any, Any]] = {}  # (service, image) -> (context, env)
                new_plans: dict[str, tuple[Any, set[str]]] = {}  # service -> (its plan, images whose environment changed)
                for name, server in self.served.items():
                    service = settings.services.get(name)
                    if service is None or target_of(service).name != target_of(self.settings.services[name]).name:
                        self.info(f"reload: {stack_file} changed service {name}'s target or removed it: "
                                  "restart serve to apply it")
                        served_as_filed = False
                        continue
                    split = split_change(self.settings.services[name], service)
                    if split is not None:
                        # Another runner serves it now (one scorer or a split): not a swap of scorers.
                        self.info(f"reload: {stack_file} changes how {name} is served ({split}): "
                                  "restart serve to apply it")
                        served_as_filed = False
                        continue
                    if not isinstance(server, _reloadable()):
                        self.info(f"reload: {', '.join(sorted(_relative(p, self.root) for p in changed))} changed; "
                                  f"{name} (target {target_of(service).name}) is not reloaded in place: "
                                  "restart serve to apply it")
                        served_as_filed = False
                        continue
                    held: dict[str, tuple] = {}  # a split's variants that keep their environment (a revision's)
                    if isinstance(server, SplitReload):
                        plan, held = server.reload_plan(service, image_envs(settings.images))
                    else:
                        plan = target_of(service).serve_plan(name, service, settings, self.logs_command(name))
                    if plan != server.plan:
                        environment = environment_changes(server.plan, plan)
                        if environment is None:
                            note = server.restart_note(service) if isinstance(server, SplitReload) else ""
                            self.info(f"reload: {stack_file} changes how {name} is served "
                                      f"({', '.join(plan_changes(server.plan, plan))}): restart serve to apply it{note}")
                            served_as_filed = False
                            continue
                        # environmentVariables only: new scorers with the new environment, swapped in.
                        new_plans[name] = (plan, environment)
                    if held:
                        # Said once for each change of the stack file's environment of a variant that keeps its own.
                        _, before = server.reload_plan(self.settings.services[name], image_envs(self.settings.images))
                        for label in sorted(label for label in held if held[label] != before.get(label)):
                            self.info(server.held_line(label, service))
                    for image in plan.images:
                        wanted[name, image] = self.prepare(image, settings)
        except ConfigError as err:
            self.info(f"error: {err}; still serving what the stack file said before: save a fix to reload")
            return
        except EnvError as err:
            self.info(f"error: {err}; still serving the previous environment: save a fix to reload")
            return
        except OSError as err:  # a file an editor's save had removed for an instant, or unreadable
            self.info(f"error: reading the project for a reload: {err}; still serving the previous code: "
                      "save again to reload")
            return
        self.settings = settings
        changes: dict[str, dict[str, tuple[Any, Any]]] = {}  # service -> image -> (context, env) to swap in
        for (name, image), (context, env) in wanted.items():
            server = self.served[name]
            who = self._who(name, [image])
            running = server.contexts[image]
            new_environment = image in new_plans.get(name, (None, set()))[1]
            if context.digest == running.digest and not new_environment:
                # Nothing the image ships changed (a file its .amlignore leaves out), or a failed
                # reload's change undone: what runs is what the files say again.
                self.kept.pop((name, image), None)
                if self.failed.pop((name, image), None) is not None:
                    self.info(f"reload: the files are back to what {who} serves: it serves on, unchanged")
                continue
            what = changed_files(running, context, self.root)
            kept = server.kept_images(settings.services[name]) if isinstance(server, SplitReload) else {}
            if image in kept:
                # A container app's older label: its revision keeps its image (reload_plan); said once a change.
                if self.kept.get((name, image)) != context.digest:
                    self.kept[name, image] = context.digest
                    self.info(server.held_line(kept[image], settings.services[name], f"image {image}",
                                               f" ({', '.join(what) or 'its build context'} changed)"))
                continue
            if new_environment:
                what = [f for f in what if f != stack_file] + [f"{stack_file} (environmentVariables)"]
            elif stack_changed and stack_file not in what:
                what.append(stack_file)
            if isinstance(server, LocalServer):
                scorers = f"a new scorer for {who} (the running one answers until it is ready)"
            elif isinstance(server, SplitReload):
                scorers = server.reload_scorers(image)
            else:
                scorers = f"new scorers for {who}, one per deployment of it (the running ones answer until they are ready)"
            self.info(f"reload: {', '.join(what) or 'the image'} changed: starting {scorers}")
            changes.setdefault(name, {})[image] = (context, env)
        running_plans = {name: self.served[name].plan for name in new_plans}
        for name, images in changes.items():
            if not self._swap(name, images, new_plans.get(name), settings):
                served_as_filed = False
                new_plans.pop(name, None)
        for name, (plan, _) in new_plans.items():
            server = self.served[name]
            adopt_plan(server, plan)  # a plan no swap adopted: it differs in a split's traffic only
            if isinstance(plan, SplitPlan) and plan.traffic_percent != running_plans[name].traffic_percent:
                self.info(server.shift_traffic(plan))
        if stack_changed and served_as_filed:
            # `mldeploy test --local` notes a stack file newer than the endpoint file (a change not
            # served yet): this one is served now.
            for name in {name for name, _ in wanted}:
                publish_endpoint(self.served[name].run_dir, self.served[name].endpoint())
        watch = watch_set(settings, self.root, self._contexts())
        if watch != self.watcher.watch:
            self.watcher.stop()
            self.watcher = Watcher(watch)
            self.watcher.start()

    def _who(self, name: str, images) -> str:
        """How a line names a service's images: the service alone when it serves one image."""
        if len(self.served[name].contexts) == 1:
            return name
        return f"{name}'s image{'s' if len(images) > 1 else ''} {', '.join(images)}"

    def _swap(self, name: str, images: dict[str, tuple[Any, Any]], new_plan, settings) -> bool:
        """Every changed image of service `name` swapped in at once (`new_plan`: (its plan, the images
        whose environment changed), or None): all of its new scorers - every deployment's or
        variant's, whichever image - are ready before any is switched to, and one that fails switches
        none (runtime/swap.py). Whether the service serves the change now."""
        from mldeploy.runtime.processes import StartError

        server = self.served[name]
        running_plan, running = server.plan, {image: server.contexts[image] for image in images}
        if new_plan is not None:
            adopt_plan(server, new_plan[0])
        try:
            seconds = server.swap_images(images, self.timeout)
        except (StartError, OSError) as err:
            adopt_plan(server, running_plan)  # the environment it serves: a later save tries again
            for image, (context, _) in images.items():
                self.failed[name, image] = context.digest
            self.info(f"error: reload of {self._who(name, list(images))}: {err}; {name} still serves the previous "
                      "code: save a fix to reload")
            return False
        for image, (context, _) in images.items():
            self.failed.pop((name, image), None)
            # No project file changed (a model's version moved its folder): the image is new, not its code.
            code = "the new code" if changed_files(running[image], context, self.root) else "the new image"
            served = (code if new_plan is None or image not in new_plan[1] else "the new environment"
                      if context.digest == running[image].digest else f"{code} and environment")
            self.info(f"reload: {self._who(name, [image])} serves {served} (ready in {seconds:.1f} s)")
        try:
            self.smoke_test(settings, name, server.endpoint())
        except StartError as err:
            self.info(f"error: {err}")
        return True


def _reloadable() -> tuple[type, ...]:
    """The runners that swap an image's scorers in place: one scorer behind a gateway, an online
    endpoint's deployments behind its front door, and a traffic split of gateways (an AKS canary,
    a container app's revisions: targets/serving.py SplitReload)."""
    from mldeploy.runtime.endpoint_local import LocalEndpoint
    from mldeploy.runtime.local import LocalServer
    from mldeploy.targets.serving import SplitReload

    return LocalServer, LocalEndpoint, SplitReload
