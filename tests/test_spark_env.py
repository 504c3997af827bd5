"""Spark needs Java 17+: a missing or old Java is one clear line, not a Py4J trace."""

from __future__ import annotations

import stat

import pytest

from curator.cli import main
from curator.errors import EnvironmentProblem
from curator.spark import check_java, under_spark_submit
from tests.conftest import DEMO


def fake_java(tmp_path, version_line: str) -> str:
    home = tmp_path / "jdk"
    (home / "bin").mkdir(parents=True)
    java = home / "bin" / "java"
    java.write_text(f"#!/bin/sh\necho '{version_line}' >&2\n")
    java.chmod(java.stat().st_mode | stat.S_IEXEC)
    return str(home)


def test_old_java_is_refused_with_a_clear_message(tmp_path, monkeypatch):
    monkeypatch.setenv("JAVA_HOME", fake_java(tmp_path, 'openjdk version "11.0.2" 2019-01-15'))
    with pytest.raises(EnvironmentProblem, match=r"needs Java 17\+, found Java 11"):
        check_java()


def test_java_8_version_scheme(tmp_path, monkeypatch):
    monkeypatch.setenv("JAVA_HOME", fake_java(tmp_path, 'java version "1.8.0_392"'))
    with pytest.raises(EnvironmentProblem, match="found Java 8"):
        check_java()


def test_missing_java_named(tmp_path, monkeypatch):
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "nowhere"))
    with pytest.raises(EnvironmentProblem, match="none was found on JAVA_HOME="):
        check_java()


def test_java_17_accepted(tmp_path, monkeypatch):
    monkeypatch.setenv("JAVA_HOME", fake_java(tmp_path, 'openjdk version "17.0.15" 2025-04-15'))
    check_java()


def test_cli_run_without_java_exits_with_one_line(tmp_path, monkeypatch, capsys):
    import curator.manifest as manifest_mod

    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "nowhere"))
    m = manifest_mod.load(DEMO)
    m.output.dir = str(tmp_path / "runs")
    monkeypatch.setattr(manifest_mod, "load", lambda path, *overrides, **named: m)
    code = main(["run", str(DEMO)])
    err = capsys.readouterr().err.strip()
    assert code == 3
    assert err.count("\n") == 0 and "Java 17+" in err and "Traceback" not in err


def test_spark_submit_detection(monkeypatch):
    monkeypatch.delenv("PYSPARK_GATEWAY_PORT", raising=False)
    assert not under_spark_submit()
    monkeypatch.setenv("PYSPARK_GATEWAY_PORT", "12345")
    assert under_spark_submit()
