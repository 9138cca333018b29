#!/usr/libexec/python3.11
"""Stand-in for the `micromamba` binary (conda channels are unreachable where the tests run).

`install/create --file env.yml`: refuses every conda dependency except python 3.11 (the Python
here) and pip, then creates a virtualenv at $MAMBA_ROOT_PREFIX and pip-installs the file's
`pip:` section into it. `shell hook` prints an activation that does what micromamba's does for
the image (prefix's bin first on PATH, CONDA_PREFIX). `clean` does nothing. Anything else fails.
"""
import os
import re
import subprocess
import sys

import yaml

PREFIX = os.environ.get("MAMBA_ROOT_PREFIX", "/opt/conda")
HOOK = r'''
micromamba() {
  if [ "$1" = "activate" ]; then
    export CONDA_PREFIX="$MAMBA_ROOT_PREFIX" CONDA_DEFAULT_ENV="${2:-base}"
    export PATH="$MAMBA_ROOT_PREFIX/bin:$PATH"
  else
    "$MAMBA_EXE" "$@"
  fi
}
'''


def fail(message):
    sys.stderr.write(f"micromamba (stand-in): {message}\n")
    sys.exit(1)


def install(args):
    if "--file" in args:
        env_file = args[args.index("--file") + 1]
    elif "-f" in args:
        env_file = args[args.index("-f") + 1]
    else:
        fail("only `install --file <env.yml>` is supported")
    with open(env_file, encoding="utf-8") as f:
        env = yaml.safe_load(f)
    pip = []
    for dep in env.get("dependencies") or []:
        if isinstance(dep, dict) and set(dep) == {"pip"}:
            pip += dep["pip"]
            continue
        name, _, version = re.match(r"^([A-Za-z0-9_.-]+)\s*([=<>!~]*)\s*(.*)$", str(dep)).groups()
        if name == "pip":
            continue
        if name == "python" and (not version or version.startswith("3.11")):
            continue
        fail(f"conda package {dep!r} cannot be installed here (conda channels are unreachable; "
             "only python=3.11 and pip are stood in for)")
    subprocess.run([sys.executable, "-m", "venv", PREFIX], check=True)
    if pip:
        subprocess.run([f"{PREFIX}/bin/pip", "install", "--no-cache-dir", *pip], check=True)


def main(argv):
    if not argv:
        fail("no command")
    command, rest = argv[0], argv[1:]
    if command in ("install", "create"):
        install(rest)
    elif command == "clean":
        pass
    elif command == "shell" and rest[:1] == ["hook"]:
        sys.stdout.write(HOOK)
    elif command == "run":
        while rest and rest[0].startswith("-"):
            rest = rest[2:] if rest[0] in ("-n", "--name", "-p", "--prefix") else rest[1:]
        os.environ["PATH"] = f"{PREFIX}/bin:" + os.environ.get("PATH", "")
        os.execvp(rest[0], rest)
    else:
        fail(f"command {command!r} is not stood in for")


if __name__ == "__main__":
    main(sys.argv[1:])
