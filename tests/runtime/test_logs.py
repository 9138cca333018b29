"""The local logs `mldeploy logs` shows: scorer and gateway files merged by their own times,
prefixed, a traceback kept whole; the rotated copy read first; --follow across a rotation."""
from __future__ import annotations

from mldeploy.runtime.logs import LogSource, follow, local_sources, merge, merged_tail

SCORER = """2026-12-04 11:38:22,007 I [1] azmlinfsrv - Worker ready
2026-12-04 11:38:42,176 E [1] azmlinfsrv - Encountered Exception: Traceback (most recent call last):
  File "score.py", line 19, in run
KeyError: 'data'
2026-12-04 11:38:42,177 I [1] azmlinfsrv - POST /score 500 1.629ms 92
"""
GATEWAY = """2026/12/04 11:38:21 [error] 7#7: *42 connect() failed
2026/12/04 11:38:30 [warn] 7#7: something in between
2026/12/04 11:38:50 [error] 7#7: later
"""


def _run_dir(tmp_path):
    (tmp_path / "scorer.log").write_text(SCORER)
    (tmp_path / "gateway.log").write_text(GATEWAY)
    return tmp_path


def test_merged_by_time_and_prefixed(tmp_path):
    lines = merged_tail(local_sources(_run_dir(tmp_path)), None)
    assert lines == [
        "gateway | 2026/12/04 11:38:21 [error] 7#7: *42 connect() failed",
        "scorer | 2026-12-04 11:38:22,007 I [1] azmlinfsrv - Worker ready",
        "gateway | 2026/12/04 11:38:30 [warn] 7#7: something in between",
        "scorer | 2026-12-04 11:38:42,176 E [1] azmlinfsrv - Encountered Exception: Traceback (most recent call last):",
        'scorer |   File "score.py", line 19, in run',
        "scorer | KeyError: 'data'",
        "scorer | 2026-12-04 11:38:42,177 I [1] azmlinfsrv - POST /score 500 1.629ms 92",
        "gateway | 2026/12/04 11:38:50 [error] 7#7: later",
    ]


def test_tail_counts_merged_lines(tmp_path):
    sources = local_sources(_run_dir(tmp_path))
    assert merged_tail(sources, 2) == ["scorer | 2026-12-04 11:38:42,177 I [1] azmlinfsrv - POST /score 500 1.629ms 92",
                                       "gateway | 2026/12/04 11:38:50 [error] 7#7: later"]
    assert merged_tail(sources, 0) == []


def test_endpoint_has_a_scorer_per_deployment(tmp_path):
    for dep in ("blue", "green"):
        (tmp_path / dep).mkdir()
        (tmp_path / dep / "scorer.log").write_text(f"2026-12-04 11:00:0{len(dep)},000 I [1] azmlinfsrv - {dep}\n")
    (tmp_path / "gateway.log").write_text("")
    assert [s.name for s in local_sources(tmp_path)] == ["blue/scorer", "green/scorer", "gateway"]
    assert [s.name for s in local_sources(tmp_path, "green")] == ["green/scorer", "gateway"]
    assert merged_tail(local_sources(tmp_path), None) == ["blue/scorer | 2026-12-04 11:00:04,000 I [1] azmlinfsrv - blue",
                                                          "green/scorer | 2026-12-04 11:00:05,000 I [1] azmlinfsrv - green"]


def test_the_rotated_copy_comes_first(tmp_path):
    (tmp_path / "scorer.log.1").write_text("2026-12-04 10:00:00,000 I [1] azmlinfsrv - old\n")
    (tmp_path / "scorer.log").write_text("2026-12-04 11:00:00,000 I [1] azmlinfsrv - new\n")
    assert merged_tail(local_sources(tmp_path), None) == ["scorer | 2026-12-04 10:00:00,000 I [1] azmlinfsrv - old",
                                                          "scorer | 2026-12-04 11:00:00,000 I [1] azmlinfsrv - new"]


def test_lines_without_a_time_at_the_start_keep_their_order():
    lines = merge([(LogSource("scorer", None), ["[INFO] Started worker-1", "[INFO] Started worker-2"])])
    assert lines == ["scorer | [INFO] Started worker-1", "scorer | [INFO] Started worker-2"]


def test_follow_prints_new_lines_and_survives_a_rotation(tmp_path):
    log = tmp_path / "scorer.log"
    log.write_text("old line\n")
    source = [LogSource("scorer", log)]
    steps = iter([
        lambda: log.open("a").write("first\nsecond, half"),
        lambda: log.open("a").write(" done\n"),
        lambda: log.write_text("after rotation\n"),  # copytruncate: the file starts again, shorter
        lambda: None,
    ])
    emitted = []

    def stop():
        step = next(steps, None)
        if step is None:
            return True
        step()
        return False

    follow(source, emitted.append, stop, poll_s=0)
    assert emitted == ["scorer | first", "scorer | second, half done", "scorer | after rotation"]


class FakeEngine:
    """The engine commands runtime/logs.py sends, answered as podman does (`ps` names, `logs
    --timestamps` on two pipes)."""

    name = "podman"

    def __init__(self, names: list[str], logs: dict[str, tuple[str, str]]):
        self.names, self.logs, self.calls = names, logs, []

    def out(self, *args, **kw) -> str:
        self.calls.append(args)
        assert args[:3] == ("ps", "--filter", "name=^mldeploy-prod-diabetes-"), args
        return "\n".join(self.names)

    def run(self, *args, **kw):
        import subprocess

        self.calls.append(args)
        stdout, stderr = self.logs[args[-1]]
        return subprocess.CompletedProcess(args, 0, stdout.encode(), stderr.encode())


def test_the_pods_running_containers_are_its_sources_without_infra():
    from mldeploy.runtime.logs import pod_sources

    engine = FakeEngine(["mldeploy-prod-diabetes-gateway", "mldeploy-prod-diabetes-infra",
                         "mldeploy-prod-diabetes-scorer", "mldeploy-prod-diabetes-collector"], {})
    assert [(s.name, s.container) for s in pod_sources(engine, "mldeploy-prod-diabetes")] == [
        ("collector", "mldeploy-prod-diabetes-collector"), ("gateway", "mldeploy-prod-diabetes-gateway"),
        ("scorer", "mldeploy-prod-diabetes-scorer")]
    # By its label too: service diabetes-x's containers share the name prefix (the engine applies it).
    assert engine.calls[0][:5] == ("ps", "--filter", "name=^mldeploy-prod-diabetes-", "--filter",
                                   "label=mldeploy.io/service=mldeploy-prod-diabetes"), engine.calls[0]


def test_a_containers_two_pipes_are_ordered_by_the_engines_time_and_it_is_cut():
    from mldeploy.runtime.logs import ContainerSource, container_lines

    # podman: nine digits and an offset; a traceback on stderr between two stdout lines.
    out = ("2026-12-04T11:38:22.000000001+00:00 2026-12-04 11:38:22,000 I [1] azmlinfsrv - Worker ready\n"
           "2026-12-04T11:38:42.300000000+00:00 2026-12-04 11:38:42,300 I [1] azmlinfsrv - POST /score 500\n")
    err = ("2026-12-04T11:38:42.100000000+00:00 Traceback (most recent call last):\n"
           "2026-12-04T11:38:42.100000001+00:00 KeyError: 'data'\n")
    engine = FakeEngine([], {"c-scorer": (out, err)})
    lines = container_lines(engine, ContainerSource("scorer", "c-scorer"), None)
    assert lines == ["2026-12-04 11:38:22,000 I [1] azmlinfsrv - Worker ready", "Traceback (most recent call last):",
                     "KeyError: 'data'", "2026-12-04 11:38:42,300 I [1] azmlinfsrv - POST /score 500"]
    assert engine.calls[-1] == ("logs", "--timestamps", "c-scorer")
    assert container_lines(engine, ContainerSource("scorer", "c-scorer"), 2) == lines[-2:]
    assert engine.calls[-1] == ("logs", "--timestamps", "--tail", "2", "c-scorer")


def test_docker_stamps_with_trimmed_fractions_order_right():
    from mldeploy.runtime.logs import ContainerSource, container_lines

    # docker's RFC3339Nano drops trailing zeros: .5Z is later than .12345Z.
    engine = FakeEngine([], {"c": ("2026-12-04T11:00:00.5Z second\n", "2026-12-04T11:00:00.12345Z first\n")})
    assert container_lines(engine, ContainerSource("gateway", "c"), None) == ["first", "second"]
