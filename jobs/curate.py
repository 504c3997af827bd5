"""spark-submit entry point: `spark-submit jobs/curate.py MANIFEST` runs what `curator run` runs.

Master, memory and executors come from spark-submit's own options; the manifest's `spark`
section only adds its `conf` entries.
"""

import sys

from curator.cli import main

if __name__ == "__main__":
    sys.exit(main(["run", *sys.argv[1:]]))
