# syntax=docker/dockerfile:1
# corpus-curator with Java 17, the `models` extra (torch CPU build) and every asset fetched at
# build time: one image for the driver (`curator run`, `spark-submit jobs/curate.py`) and, on
# Kubernetes, for the executors (see the README's Kubernetes section).
#
#   docker build -t corpus-curator .
#   docker run --rm -v "$PWD:/work" corpus-curator run manifests/demo.yaml
FROM python:3.11-slim

# Java 17 for Spark 4; git for code sources given as repositories; procps (`ps`) for Spark's scripts.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        openjdk-17-jre-headless git procps \
    && rm -rf /var/lib/apt/lists/*

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CURATOR_ASSETS=/opt/curator-assets \
    SPARK_HOME=/usr/local/lib/python3.11/site-packages/pyspark \
    PYSPARK_PYTHON=/usr/local/bin/python3

# torch first, as the CPU build, so that nothing later pulls a CUDA build.
ARG TORCH_VERSION=2.13.0
RUN pip install --index-url https://download.pytorch.org/whl/cpu "torch==${TORCH_VERSION}"

WORKDIR /opt/corpus-curator
COPY pyproject.toml README.md ./
COPY curator ./curator
COPY stages ./stages
COPY classifiers ./classifiers
COPY jobs ./jobs
COPY manifests ./manifests
RUN pip install ".[models]" && python -c 'import torch, curator; print("corpus-curator", curator.__version__, "torch", torch.__version__)'

# Models and tokenizers, checked by sha256, baked in (executors read the same path).
RUN curator assets fetch

# `executor` is what Spark on Kubernetes passes to an executor pod (Spark's own images answer it
# with their entrypoint.sh: the same command is run here); anything else goes to `curator`.
RUN <<'SH'
cat > /usr/local/bin/curator-entrypoint <<'EOS'
#!/bin/bash
set -euo pipefail
if [ "${1:-}" = executor ]; then
    shift
    readarray -t java_opts < <(env | grep '^SPARK_JAVA_OPT_' | sort -t_ -k4 -n | sed 's/[^=]*=\(.*\)/\1/g')
    exec java "${java_opts[@]}" -Xms"$SPARK_EXECUTOR_MEMORY" -Xmx"$SPARK_EXECUTOR_MEMORY" \
        -cp "${SPARK_CLASSPATH:-}:$SPARK_HOME/jars/*" \
        org.apache.spark.scheduler.cluster.k8s.KubernetesExecutorBackend \
        --driver-url "$SPARK_DRIVER_URL" --executor-id "$SPARK_EXECUTOR_ID" \
        --cores "$SPARK_EXECUTOR_CORES" --app-id "$SPARK_APPLICATION_ID" \
        --hostname "$SPARK_EXECUTOR_POD_IP" --resourceProfileId "${SPARK_RESOURCE_PROFILE_ID:-0}" \
        --podName "${SPARK_EXECUTOR_POD_NAME:-$HOSTNAME}" "$@"
fi
exec curator "$@"
EOS
chmod 755 /usr/local/bin/curator-entrypoint
SH

WORKDIR /work
ENTRYPOINT ["/usr/local/bin/curator-entrypoint"]
CMD ["--help"]
