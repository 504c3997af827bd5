"""spark-submit entry point: `spark-submit jobs/curate.py [-v|-q] MANIFEST [--until PHASE]`
runs what `curator run` runs.

Nothing of the Spark setup spark-submit gives is overridden (curator/spark.py): master,
memory, executors, UI and log level stay as its options and spark-defaults.conf set them;
the manifest's `spark.conf` entries, and the few settings the pipeline needs (Arrow batch
sizes, UTC, zstd), are added only where the user set no value of their own.
"""

import sys

from curator.cli import main

if __name__ == "__main__":
    sys.exit(main(["run", *sys.argv[1:]]))
