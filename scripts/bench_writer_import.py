"""What the TensorBoard writer adds to a training run's start-up: importing tensorboardX through
rl.events (torch, boto3 and google.cloud hidden while it loads) against a plain
`import tensorboardX`, each in a fresh process after numpy, numba and gymnasium are loaded, as
they are in rl.train by then. Median of --repeats processes.

    python scripts/bench_writer_import.py --repeats 7
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys

CASES = {
    "rl.events.summary_writer": "from rl.events import summary_writer; w = summary_writer(d); w.close()",
    "import tensorboardX": "import tensorboardX; w = tensorboardX.SummaryWriter(d); w.close()",
    # As on a machine without torch: its import fails, the rest loads as usual.
    "import tensorboardX (no torch)": "sys.modules['torch'] = None; import tensorboardX; "
                                     "w = tensorboardX.SummaryWriter(d); w.close()",
}
TEMPLATE = """
import sys, tempfile, time
import numpy, numba, gymnasium
d = tempfile.mkdtemp()
t = time.perf_counter()
{code}
print(time.perf_counter() - t, sys.modules.get('torch') is not None)
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    ns = parser.parse_args()
    print(f"torch installed: {importlib.util.find_spec('torch') is not None}; "
          f"boto3 installed: {importlib.util.find_spec('boto3') is not None}")
    for name, code in CASES.items():
        times, torch_loaded = [], False
        for _ in range(ns.repeats):
            out = subprocess.run([sys.executable, "-c", TEMPLATE.format(code=code)], capture_output=True,
                                 text=True, check=True).stdout.split()
            times.append(float(out[0]))
            torch_loaded = out[1] == "True"
        print(f"{name:28s} {statistics.median(times):.3f} s  (torch imported: {torch_loaded})")


if __name__ == "__main__":
    main()
