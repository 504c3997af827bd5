"""The Spark session: settings this kind of machine needs, and nothing forced under spark-submit."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

from curator.errors import EnvironmentProblem

MIN_JAVA = 17


def under_spark_submit() -> bool:
    """True when spark-submit launched this driver: master and memory then come from it."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def java_major_version(java: str) -> int | None:
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not m:
        return None
    major = int(m.group(1))
    return int(m.group(2)) if major == 1 and m.group(2) else major  # "1.8" -> 8


def check_java() -> None:
    """Fail with one clear line, not a Py4J trace, when Java 17+ is missing."""
    home = os.environ.get("JAVA_HOME")
    java = os.path.join(home, "bin", "java") if home else shutil.which("java")
    where = f"JAVA_HOME={home}" if home else "PATH"
    if not java or not os.path.exists(java):
        raise EnvironmentProblem(
            f"Java {MIN_JAVA}+ is needed by Spark 4 and none was found on {where}: "
            f"install it (Debian: apt-get install openjdk-17-jre-headless) or set JAVA_HOME"
        )
    major = java_major_version(java)
    if major is None or major < MIN_JAVA:
        found = f"Java {major}" if major else "a java that does not report its version"
        raise EnvironmentProblem(
            f"Spark 4 needs Java {MIN_JAVA}+, found {found} at {java} ({where}): "
            f"install openjdk-17 and point JAVA_HOME at it"
        )


def worker_environment() -> None:
    """Environment the driver and its Python workers need on this machine."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("PYARROW_IGNORE_TIMEZONE", "1")


def get_spark(settings=None, app_name: str = "curator"):
    """A SparkSession; under spark-submit its master/memory are left to the command line."""
    from curator.manifest import SparkSettings

    settings = settings or SparkSettings()
    worker_environment()
    check_java()
    from pyspark.sql import SparkSession

    b = SparkSession.builder.appName(app_name)
    if not under_spark_submit():
        b = b.master(settings.master).config("spark.driver.memory", settings.driver_memory)
        b = b.config("spark.driver.bindAddress", "127.0.0.1").config("spark.driver.host", "127.0.0.1")
        b = b.config("spark.executorEnv.PYSPARK_PYTHON", os.environ["PYSPARK_PYTHON"])
        log_conf = os.path.join(os.path.dirname(__file__), "conf", "log4j2.properties")
        b = b.config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile=file:{log_conf}")
    conf = {
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": str(settings.shuffle_partitions),
        # Arrow batches to Python workers: up to 10,000 rows or 16 MiB, whichever comes first
        # (per-batch costs of the vectorised stages fall 25% from 1,000 to 5,000 rows; the
        # byte cap bounds a worker's memory on long documents)
        "spark.sql.execution.arrow.maxRecordsPerBatch": "10000",
        "spark.sql.execution.arrow.maxBytesPerBatch": str(16 << 20),
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.parquet.compression.codec": "zstd",
        "spark.executorEnv.TOKENIZERS_PARALLELISM": "false",
    }
    conf.update(settings.conf)
    for key, value in conf.items():
        b = b.config(key, value)
    spark = b.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark
