"""What `mldeploy synth` warns of at a stack, as one list: the checks that need no cloud (supported
versions by date, v1 scripts, entry scripts, a model pickled by another scikit-learn than its image
pins, each target's own) and what only the program logs (SynthResult.engine_log: what Azure reports of
an attached cluster), each once. synth prints the list and writes it to warnings.json; `mldeploy diff`
reads that file of each side's synth, each side's own code (cli/review.py: new at the head, gone since
the base)."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # `mldeploy diff` reads the file without loading Pulumi
    from mldeploy.synth.run import SynthResult

WARNINGS_FILE = "warnings.json"


def synth_warnings(result: SynthResult, root: Path, today: date) -> list[tuple[str, str]]:
    """(level, message) of every warning of the stack, checks first, then what only the program logged."""
    from mldeploy.plan.model_libraries import model_library_warnings
    from mldeploy.plan.script_checks import script_warnings
    from mldeploy.plan.v1_script import v1_warnings
    from mldeploy.plan.versions import stack_warnings
    from mldeploy.targets.stack import target_warnings

    settings = result.settings
    checked = [*stack_warnings(settings, today), *v1_warnings(settings, root), *script_warnings(settings, root),
               *model_library_warnings(settings, root), *target_warnings(settings)]
    # The program logs some of the same (program/__init__.py deploy: what `pulumi up` shows): once each.
    logged = [(level, message) for level, message in dict.fromkeys(result.engine_log) if message not in checked]
    return [*(("warning", w) for w in dict.fromkeys(checked)), *logged]


def write_warnings(said: list[tuple[str, str]], out: Path) -> None:
    (out / WARNINGS_FILE).write_text(json.dumps([{"level": level, "message": message} for level, message in said],
                                                indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def read_warnings(out: Path) -> list[tuple[str, str]] | None:
    """What write_warnings wrote in a synth folder; None when it holds no such file (a synth of an
    mldeploy older than this file: its stderr is all there is)."""
    try:
        return [(w["level"], w["message"]) for w in json.loads((out / WARNINGS_FILE).read_text(encoding="utf-8"))]
    except (OSError, ValueError, KeyError, TypeError):
        return None
