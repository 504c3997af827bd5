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


RUN_CONF = {
    "spark.sql.shuffle.partitions": None,  # the manifest's spark.shuffle_partitions
    # Arrow batches to Python workers: up to 10,000 rows or 16 MiB, whichever comes first
    # (per-batch costs of the vectorised stages fall 25% from 1,000 to 5,000 rows; the
    # byte cap bounds a worker's memory on long documents)
    "spark.sql.execution.arrow.maxRecordsPerBatch": "10000",
    "spark.sql.execution.arrow.maxBytesPerBatch": str(16 << 20),
    # Parquet is read 64 rows at a time (default 4,096): the vectorised reader reserves one
    # contiguous buffer per batch, and a batch of documents at the 1 MB code-file cap is then
    # 64 MB per task; 256 of them (252 MB a task) already ran a 2 GB JVM out of heap
    "spark.sql.parquet.columnarReaderBatchSize": "64",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.compression.codec": "zstd",
    "spark.executorEnv.TOKENIZERS_PARALLELISM": "false",
}
"""What the pipeline needs of any session (a user's own value for one of these is kept)."""

LOCAL_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
}
"""A quiet local session (`curator run`): never set when the user owns the Spark setup."""


def user_owns_spark() -> bool:
    """True under spark-submit, or when a SparkContext is already running (a notebook's):
    master, memory, UI and log level are then the user's."""
    if under_spark_submit():
        return True
    from pyspark import SparkContext

    return SparkContext._active_spark_context is not None


def existing_conf() -> dict[str, str]:
    """The Spark settings the user already gave (spark-submit's --conf and defaults file, or
    the running context's)."""
    from pyspark import SparkConf, SparkContext

    sc = SparkContext._active_spark_context
    conf = sc.getConf() if sc is not None else SparkConf()
    return dict(conf.getAll())


def conf_to_set(settings, existing: dict[str, str] | None, user_owned: bool) -> dict[str, str]:
    """The Spark settings get_spark applies (a pure function, tested without Spark).

    In a session of our own: the quiet-local settings, the pipeline's, then the manifest's
    `spark.conf` over them. When the user owns the Spark setup (`existing` holds what they
    set): the pipeline's settings and the manifest's `conf`, each only where the user set no
    value of their own; never the UI."""
    conf = {**({} if user_owned else LOCAL_CONF), **RUN_CONF}
    conf["spark.sql.shuffle.partitions"] = str(settings.shuffle_partitions)
    conf.update(settings.conf)
    if user_owned:
        conf = {k: v for k, v in conf.items() if k not in (existing or {})}
    return conf


def get_spark(settings=None, app_name: str = "curator"):
    """A SparkSession. Under spark-submit (or beside a running SparkContext) master, memory,
    UI and log level are left as the user set them; otherwise a quiet local session."""
    from curator.manifest import SparkSettings

    settings = settings or SparkSettings()
    worker_environment()
    check_java()
    from pyspark.sql import SparkSession

    owned = user_owns_spark()
    b = SparkSession.builder
    if not owned:
        b = b.appName(app_name).master(settings.master).config("spark.driver.memory", settings.driver_memory)
        b = b.config("spark.driver.bindAddress", "127.0.0.1").config("spark.driver.host", "127.0.0.1")
        b = b.config("spark.executorEnv.PYSPARK_PYTHON", os.environ["PYSPARK_PYTHON"])
        log_conf = os.path.join(os.path.dirname(__file__), "conf", "log4j2.properties")
        b = b.config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile=file:{log_conf}")
    existing = existing_conf() if owned else {}
    if owned and "spark.app.name" not in existing:
        b = b.appName(app_name)
    for key, value in conf_to_set(settings, existing, owned).items():
        b = b.config(key, value)
    spark = b.getOrCreate()
    if not owned:
        spark.sparkContext.setLogLevel("ERROR")
    return spark
