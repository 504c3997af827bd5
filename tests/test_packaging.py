"""Packaging: extras, the one version, the lint and test-tier configuration, the Dockerfile,
and the one-line message when a feature's extra is missing. No JVM, no network."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import tomllib

import pytest

from tests.conftest import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]


def _names(reqs: list[str]) -> set[str]:
    return {re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0].lower() for r in reqs}


def test_torch_and_what_needs_it_are_behind_the_models_extra():
    core = _names(PROJECT["dependencies"])
    extras = PROJECT["optional-dependencies"]
    assert not core & {"torch", "detoxify", "megatron-core"}, "the core must install without torch"
    assert {"torch", "detoxify", "megatron-core"} <= _names(extras["models"])
    assert {"transformers", "tokenizers", "pyspark"} <= core  # the default GPT-2 tokenizer folder
    assert {"models", "code", "bench", "test"} <= set(extras)
    assert "corpus-curator[models]" in extras["test"], "the full suite runs the demo's detoxify stage"
    assert {"pytest-timeout", "ruff"} <= _names(extras["test"])


def test_datasketch_is_capped_below_3_because_a_private_function_is_used():
    assert "datasketch.lsh import _optimal_param" in (ROOT / "stages" / "minhash.py").read_text()
    for reqs in (PROJECT["dependencies"], PROJECT["optional-dependencies"]["bench"]):
        (spec,) = [r for r in reqs if r.startswith("datasketch")]
        assert "<3" in spec, spec


def test_the_version_is_written_once_in_curator_init():
    import curator

    assert "version" not in PROJECT and "version" in PROJECT["dynamic"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "curator.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", curator.__version__)


def test_markers_timeout_and_ruff_are_configured():
    ini = PYPROJECT["tool"]["pytest"]["ini_options"]
    assert {m.split(":")[0] for m in ini["markers"]} == {"spark", "cluster", "browser", "slow"}
    assert ini["timeout"] >= 600
    lint = PYPROJECT["tool"]["ruff"]["lint"]
    assert {"E", "F", "B"} <= set(lint["select"])
    make = (ROOT / "Makefile").read_text()
    assert 'pytest -q -m "not spark and not cluster and not browser and not slow"' in make
    assert re.search(r"^lint:", make, re.M) and re.search(r"^wheel-check:", make, re.M)
    ci = (ROOT / ".ci" / "run").read_text()
    assert ci.index("make test") < ci.index("make lint") and "make wheel-check" in ci


def test_tiers_come_from_fixtures():
    """A test that takes `spark` directly or through `demo_run` is a Spark test, the cluster
    test is also `cluster`, the Chromium test `browser`; a plain function test has none."""
    script = textwrap.dedent("""
        import sys, pytest
        class Show:
            def pytest_collection_finish(self, session):
                for item in session.items:
                    marks = sorted({m.name for m in item.iter_markers()} & {"spark", "cluster", "browser", "slow"})
                    print("ITEM", item.nodeid, ",".join(marks))
        sys.exit(pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", *sys.argv[1:]], plugins=[Show()]))
    """)
    files = ["tests/test_pipeline.py", "tests/test_resilience.py", "tests/test_browser_report.py",
             "tests/test_gopher.py"]
    proc = subprocess.run([sys.executable, "-c", script, *files], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    marks = {ln.split(" ")[1]: set(filter(None, ln.split(" ")[2].split(",")))
             for ln in proc.stdout.splitlines() if ln.startswith("ITEM ")}
    by_name = {nodeid.split("::")[-1]: m for nodeid, m in marks.items()}
    assert by_name["test_standalone_cluster_gives_the_local_shards"] >= {"spark", "cluster"}
    assert by_name["test_without_retries_an_injected_failure_fails_the_run_cleanly"] == {"spark"}
    assert all("browser" in m for n, m in marks.items() if "test_browser_report" in n)
    assert any(n.startswith("tests/test_pipeline.py") and m == {"spark"} for n, m in marks.items())
    assert by_name["test_tokens_match_spacy_on_mixed_text"] == {"slow"}
    assert any(n.startswith("tests/test_gopher.py") and not m for n, m in marks.items())


def _dockerfile() -> list[str]:
    """The Dockerfile's instructions, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text()
    return [ln.strip() for ln in re.sub(r"\\\n", " ", text).splitlines() if ln.strip() and not ln.startswith("#")]


def test_dockerfile_has_python_java_the_project_assets_and_the_curator_entrypoint():
    lines = _dockerfile()
    assert lines[0].startswith("FROM python:3.11")
    run = "\n".join(ln for ln in lines if ln.startswith("RUN"))
    assert "openjdk-17-jre-headless" in run
    torch = next(i for i, ln in enumerate(lines) if "torch==" in ln and "download.pytorch.org/whl/cpu" in ln)
    project = next(i for i, ln in enumerate(lines) if re.search(r"pip install \"?\.\[models\]", ln))
    fetch = next(i for i, ln in enumerate(lines) if ln.startswith("RUN curator assets fetch"))
    assert torch < project < fetch, "torch (CPU) first, then the project, then its assets"
    for pkg in ("curator", "stages", "classifiers", "jobs"):
        assert any(ln.startswith(f"COPY {pkg} ") for ln in lines), pkg
    entry = [ln for ln in lines if ln.startswith("ENTRYPOINT")]
    assert len(entry) == 1 and "curator" in entry[0]
    text = (ROOT / "Dockerfile").read_text()
    assert 'exec curator "$@"' in text
    assert "KubernetesExecutorBackend" in text  # Spark on Kubernetes starts executors with `executor`
    assert "CURATOR_ASSETS=/opt/curator-assets" in text


def test_dockerignore_keeps_local_state_out_of_the_image():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", "runs", ".cache"} <= ignored


def test_a_missing_extra_is_one_line_naming_it():
    from curator.errors import EnvironmentProblem
    from curator.extras import require

    with pytest.raises(EnvironmentProblem) as e:
        require("the detoxify stage", "torch", "no_such_module_for_curator")
    msg = str(e.value)
    assert "\n" not in msg and "needs no_such_module_for_curator, which is not installed" in msg  # torch is here
    assert "pip install 'corpus-curator[models]'" in msg


def test_detoxify_without_torch_says_which_extra(tmp_path):
    """In a process where torch and detoxify cannot be imported, the model and the tiny
    checkpoint builder fail with the extra's name instead of a ModuleNotFoundError."""
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("torch", "detoxify"):
                    raise ModuleNotFoundError(name)
        sys.meta_path.insert(0, Block())
        from curator.errors import EnvironmentProblem
        from classifiers.detoxify_model import ToxicityModel, build_tiny_checkpoint
        for call in (lambda: ToxicityModel(), lambda: build_tiny_checkpoint({str(tmp_path)!r})):
            try:
                call()
                print("no error")
            except EnvironmentProblem as e:
                print(e)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 2, proc.stdout
    assert lines[0].startswith("the detoxify stage needs torch and detoxify")
    assert lines[1].startswith("building a Detoxify checkpoint")
    assert all("pip install 'corpus-curator[models]'" in ln for ln in lines)
    assert not any(tmp_path.iterdir()), "nothing is written when the extra is missing"
