"""The scoring image's build context: Dockerfile, environment, entry script, model files.

Layer order is environment -> entry script -> models, so a new model version or a script change
reuses the (slow) environment layer. The same context is what the local target runs.
"""
from __future__ import annotations

import json
import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from mldeploy.scoring.environment import scorer_pins
from mldeploy.config.requirements import RequirementsTree, read_requirements
from mldeploy.config.source_directory import source_files
from mldeploy.config.stack import ImageSettings
from mldeploy.contract import DEFAULT_SCORING_SERVER
from mldeploy.plan.assets import is_azureml_image
from mldeploy.plan.digest import digest_mapping
from mldeploy.plan.models import ResolvedModel
from mldeploy.plan.naming import image_tag
from mldeploy.plan.v1_script import needs_shim
from mldeploy.plan.batching import SAMPLE_FILE as BATCHING_SAMPLE_FILE, batching_env
from mldeploy.scoring import SCORER_HOST, SCORING_APP, SCORING_BATCHER, V1_SHIM, WSGI_ON_ASGI, scorer_host
from mldeploy.contract import SCORER_PORT

APP_DIR = "/var/azureml-app"
MODELS_DIR = f"{APP_DIR}/azureml-models"
SCORER_HOST_FILE = "mldeploy_scorer_host.py"
SCORER_HOST_PATH = f"/opt/mldeploy/{SCORER_HOST_FILE}"
# scoringServer mldeploy: the app granian loads by module name, next to the host (its sys.path[0]).
SCORING_APP_FILE = SCORING_APP.name
WSGI_ON_ASGI_FILE = WSGI_ON_ASGI.name  # the host serves scoring_app.py through it
SCORING_BATCHER_FILE = SCORING_BATCHER.name  # images with `batching`: scoring_app.py imports it by name
SCORING_SERVER_ENV = scorer_host.SERVER_ENV
# The Dockerfile's words for each `scoringServer`.
SERVED_BY = {"mldeploy": "the Azure ML inference server's app on granian (scoringServer mldeploy)",
             "azmlinfsrv": "the official Azure ML inference server (scoringServer azmlinfsrv)"}
# Pinned so that the same config always builds the same image (a moving tag would not).
MICROMAMBA_IMAGE = "mambaorg/micromamba:1.5.10-jammy"
# The image's entrypoint activates the environment for the main command only: HEALTHCHECK,
# `exec` and a pod's `command` bypass it, so the environment's bin goes on PATH for all.
# micromamba-docker 1.5.10's _entrypoint.sh sets HOME=/home/$MAMBA_USER whenever USER is unset
# and the uid is not 0 (any pod's runAsUser): a read-only folder under readOnlyRootFilesystem,
# overriding the pod's HOME. With USER set it leaves HOME alone (mamba-org/micromamba-docker,
# tag v1.5.10, _entrypoint.sh; fixed upstream only in 2026, "No longer clobber $HOME").
MICROMAMBA_RUNTIME_ENV = (
    "ENV PATH=$MAMBA_ROOT_PREFIX/bin:$PATH \\",
    "    USER=$MAMBA_USER",
)
V1_SHIM_DIR = "azureml"  # next to the entry script, on the server's path (AML_APP_ROOT)
V1_MODELS_MANIFEST = "azureml/core/mldeploy-models.json"  # read by the stand-in's model.py
CONDA_ENV_FILE = "environment/conda.yml"
PIP_ENV_FILE = "environment/requirements.txt"


@dataclass(frozen=True)
class BuildContext:
    """Every file of one image's build context, plus what the runtime needs to know about it."""

    image: str
    files: dict[str, bytes]
    digest: str
    tag: str
    entry_script: str
    model_dir: str
    env_file: str
    env_kind: str  # "conda" or "pip"
    # The environment as one self-contained file (the conda file; a requirements file with the files
    # it includes inlined), for what takes one file (the local virtualenv, Azure ML's conda file),
    # and the constraints its `-c` files add.
    env_text: str = ""
    env_constraints: tuple[str, ...] = ()
    models: tuple[tuple[str, str], ...] = field(default=())
    scoring_server: str = DEFAULT_SCORING_SERVER  # ImageSettings.scoring_server
    # ImageSettings.batching as the scorer's environment, but for the sample's path (SAMPLE_ENV):
    # /opt/mldeploy/<BATCHING_SAMPLE_FILE> in the image, the written context's copy locally.
    batching_env: tuple[tuple[str, str], ...] = ()
    # (context path, the project file it is a copy of) for each file copied from the project:
    # what `serve --reload` watches, and how it names a change. Not in the digest (the files are).
    sources: tuple[tuple[str, Path], ...] = field(default=(), compare=False)

    def write(self, dest: Path) -> None:
        """Write the context to `dest` (replacing what was there)."""
        import shutil

        if dest.exists():
            shutil.rmtree(dest)
        for name, data in sorted(self.files.items()):
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)


def model_dir(models: list[ResolvedModel]) -> str:
    """AZUREML_MODEL_DIR as Azure ML sets it: the model's own folder when the image has one
    model, the root of all models when it has several."""
    if len(models) == 1:
        return f"{MODELS_DIR}/{models[0].registered_name}/{models[0].version}"
    return MODELS_DIR


def v1_shim_files(models: list[ResolvedModel]) -> dict[str, bytes]:
    """mldeploy's stand-in for azureml-core (mldeploy/scoring/v1-shim), as files under
    `azureml/`, plus the manifest of the image's models: which is a file (its name) and which a
    folder (its top-level names), so Model.get_model_path returns what the script registered."""
    files = {f"{V1_SHIM_DIR}/{p.relative_to(V1_SHIM / V1_SHIM_DIR).as_posix()}": p.read_bytes()
             for p in sorted((V1_SHIM / V1_SHIM_DIR).rglob("*.py"))}
    manifest = {}
    for m in models:
        if m.is_folder:
            manifest[f"{m.registered_name}/{m.version}"] = {"folder": sorted({rel.split("/", 1)[0] for rel, _ in m.files})}
        else:
            manifest[f"{m.registered_name}/{m.version}"] = {"file": m.files[0][0]}
    files[V1_MODELS_MANIFEST] = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    return files


def render_dockerfile(name: str, image: ImageSettings, env_kind: str, env_text: str,
                      script: str, models: list[ResolvedModel], v1_shim: bool = False,
                      requirements_tree: str | None = None) -> str:
    """`requirements_tree`: the main requirements file's path under environment/ when it includes
    others (`-r base.txt`): the folder is copied whole and pip follows the includes itself.
    `script`: the entry script's path in the app folder (inside `sourceDirectory`, when set)."""
    mdir = model_dir(models)
    lines = [
        "# syntax=docker/dockerfile:1",
        f"# Generated by mldeploy for image {name!r}. Edit the stack config, not this file.",
    ]
    if env_kind == "conda":
        # An Azure ML base image is what Azure ML builds a v2 endpoint's environment on (with its conda);
        # mldeploy's own build of the same image - the rehearsal, `serve --containers` - installs the conda
        # file with micromamba, which Azure ML's images do not have (plan/stack.py refuses one on an image
        # mldeploy deploys itself).
        azure_base = image.base_image if image.base_image and is_azureml_image(image.base_image) else None
        lines += [
            *([f"# Azure ML builds this environment on {azure_base}; this rehearsal image on micromamba."]
              if azure_base else []),
            f"FROM {MICROMAMBA_IMAGE if azure_base else image.base_image or MICROMAMBA_IMAGE}",
            "# 1. The environment (slowest, changes least): first, so new models reuse this layer.",
            f"COPY --chown=$MAMBA_USER:$MAMBA_USER {CONDA_ENV_FILE} /tmp/conda.yml",
            "RUN micromamba install --yes --name base --file /tmp/conda.yml \\",
            "    && micromamba clean --all --yes",
            "ARG MAMBA_DOCKERFILE_ACTIVATE=1",
            *MICROMAMBA_RUNTIME_ENV,
        ]
    else:
        lines += [
            f"FROM {image.base_image or f'python:{image.python_version}-slim'}",
            "RUN useradd --create-home --uid 1000 scorer",
            "# 1. The environment (slowest, changes least): first, so new models reuse this layer.",
            *([f"COPY {PIP_ENV_FILE} /tmp/requirements.txt",
               "RUN pip install --no-cache-dir -r /tmp/requirements.txt"] if requirements_tree is None else
              ["COPY environment/ /tmp/environment/",
               f"RUN pip install --no-cache-dir -r {shlex.quote('/tmp/' + requirements_tree)}"]),
        ]
    # The versions the scorer host was tested against, whatever the file pins (scoring/environment.py).
    extra = scorer_pins(env_kind, env_text, image.scoring_server)
    if extra:
        lines.append(f"RUN pip install --no-cache-dir {' '.join(extra)}")
    lines += [
        "# 2. The entry script (init/run), served by " + SERVED_BY[image.scoring_server] + ".",
        f"WORKDIR {APP_DIR}",
        *([f"COPY app/{script} {APP_DIR}/{script}",
           *(["# The entry script imports azureml.core (SDK v1): mldeploy's stand-in for its Model.get_model_path.",
              f"COPY app/{V1_SHIM_DIR}/ {APP_DIR}/{V1_SHIM_DIR}/"] if v1_shim else [])]
          if image.source_directory is None else
          [f"# The entry script's folder, images.{name}.sourceDirectory ({image.source_directory}), whole - as v1's",
           "# source_directory and v2's code folder - with its root on the import path (AML_APP_ROOT).",
           f"COPY app/ {APP_DIR}/",
           f"ENV AML_APP_ROOT={APP_DIR}"]),
        "# 3. The model files, in Azure ML's layout: azureml-models/<name>/<version>/...",
        f"COPY azureml-models/ {MODELS_DIR}/",
        f"ENV AZUREML_ENTRY_SCRIPT={APP_DIR}/{script} \\",
        f"    AZUREML_MODEL_DIR={mdir} \\",
        "    PYTHONUNBUFFERED=1 \\",
        f"    {SCORING_SERVER_ENV}={image.scoring_server} \\",
        "    PYTHONDONTWRITEBYTECODE=1",
    ]
    batching = batching_env(image.batching, f"/opt/mldeploy/{BATCHING_SAMPLE_FILE}")
    if batching:
        lines += ["# Adaptive batching (images.<name>.batching): several requests' rows in one run() call.",
                  "ENV " + " \\\n    ".join(f"{k}={v}" for k, v in batching)]
    lines.append("USER scorer" if env_kind == "pip" else "USER $MAMBA_USER")
    lines += [
        f"EXPOSE {SCORER_PORT}",
        "HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \\",
        f"    CMD python -c \"import urllib.request; urllib.request.urlopen('http://127.0.0.1:{SCORER_PORT}/')\"",
        # The scorer host: azmlinfsrv with mldeploy's changes (unusable JSON is a 400, swagger
        # marks run()'s inputs required), the same process as the local target runs; with
        # scoringServer mldeploy it serves the app of scoring_app.py on granian.
        f"COPY {SCORER_HOST_FILE} {SCORER_HOST_PATH}",
        *([f"COPY {SCORING_APP_FILE} {WSGI_ON_ASGI_FILE} /opt/mldeploy/"] if image.scoring_server == "mldeploy" else []),
        *([f"COPY {SCORING_BATCHER_FILE} {BATCHING_SAMPLE_FILE} /opt/mldeploy/"] if batching else []),
        "CMD " + json.dumps(["python", SCORER_HOST_PATH, "--entry_script", f"{APP_DIR}/{script}",
                             "--model_dir", mdir, "--port", str(SCORER_PORT)]),
    ]
    return "\n".join(lines) + "\n"


def environment_tree(tree: RequirementsTree, project_root: Path) -> tuple[dict[str, bytes], str]:
    """A requirements file that includes others, as files under environment/ at their paths relative
    to the folder that holds them all (so every `-r ../x.txt` finds its file as pip resolves it), and
    the main file's path among them."""
    folders = [str(PurePosixPath(rel).parent) for rel, _ in tree.files]
    common = os.path.commonpath(folders) if all(f != "." for f in folders) else ""
    files = {f"environment/{PurePosixPath(rel).relative_to(common or '.').as_posix()}":
             (project_root / rel).read_text(encoding="utf-8").encode() for rel, _ in tree.files}
    return files, f"environment/{PurePosixPath(tree.main).relative_to(common or '.').as_posix()}"


def render_build_context(name: str, image: ImageSettings, models: list[ResolvedModel],
                         project_root: Path) -> BuildContext:
    """All files of the context and its digest; unchanged inputs give byte-identical output."""
    env_kind = "conda" if image.conda_file else "pip"
    env_path = project_root / (image.conda_file or image.requirements_file)
    env_text = env_path.read_text(encoding="utf-8")
    env_file = CONDA_ENV_FILE if env_kind == "conda" else PIP_ENV_FILE
    env_files = {env_file: env_text.encode()}
    constraints: tuple[str, ...] = ()
    if env_kind == "pip":
        tree = read_requirements(image.requirements_file, project_root)
        if tree.includes:
            env_files, env_file = environment_tree(tree, project_root)
        env_text, constraints = tree.text(), tree.constraints
    script_path = project_root / image.script_path
    script = image.script_in_source

    # Every shipped file of the source directory (config/source_directory.py decides which): in the
    # context, so in the digest - a change to helpers.py is a new tag, and no change is none.
    shipped = source_files(image.source_directory, project_root)
    files: dict[str, bytes] = {
        **env_files,
        **{f"app/{rel}": path.read_bytes() for rel, path in shipped},
        f"app/{script}": script_path.read_bytes(),
        ".dockerignore": b"**/__pycache__\n**/*.pyc\n",
    }
    env_sources = [project_root / rel for rel, _ in tree.files] if env_kind == "pip" and tree.includes else [env_path]
    sources = {**dict(zip(env_files, env_sources)), **{f"app/{rel}": path for rel, path in shipped},
               f"app/{script}": script_path}
    for model in models:
        for rel, path in model.files:
            files[f"azureml-models/{model.registered_name}/{model.version}/{rel}"] = path.read_bytes()
            sources[f"azureml-models/{model.registered_name}/{model.version}/{rel}"] = path
    v1_shim = needs_shim(files[f"app/{script}"], env_text)
    if v1_shim:
        # At the app folder's root (the image's AML_APP_ROOT) and, for a script in a subfolder of its
        # sourceDirectory, beside it too: a v2 online deployment's import path is the script's own folder
        # (runtime/local.py v2_deployment_env), where `import azureml.core` must find it.
        shim = v1_shim_files(models)
        folders = sorted({PurePosixPath("."), PurePosixPath(script).parent})
        files.update({f"app/{(folder / rel).as_posix()}": data for folder in folders for rel, data in shim.items()})
    files[SCORER_HOST_FILE] = SCORER_HOST.read_bytes()
    if image.scoring_server == "mldeploy":
        files[SCORING_APP_FILE] = SCORING_APP.read_bytes()
        files[WSGI_ON_ASGI_FILE] = WSGI_ON_ASGI.read_bytes()
    if image.batching is not None:
        files[SCORING_BATCHER_FILE] = SCORING_BATCHER.read_bytes()
        files[BATCHING_SAMPLE_FILE] = (project_root / image.sample_request).read_bytes()
        sources[BATCHING_SAMPLE_FILE] = project_root / image.sample_request
    files["Dockerfile"] = render_dockerfile(name, image, env_kind, env_text, script, models, v1_shim,
                                            env_file if len(env_files) > 1 else None).encode()
    digest = digest_mapping(files)
    return BuildContext(
        image=name,
        files=files,
        digest=digest,
        tag=image_tag(image.version, digest),
        entry_script=f"{APP_DIR}/{script}",
        model_dir=model_dir(models),
        env_file=env_file,
        env_kind=env_kind,
        env_text=env_text,
        env_constraints=constraints,
        models=tuple((m.registered_name, m.version) for m in models),
        scoring_server=image.scoring_server,
        batching_env=batching_env(image.batching, ""),
        sources=tuple(sorted(sources.items())),
    )
