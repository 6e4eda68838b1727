"""What `training.xla: auto` chooses on this machine: the probe's seconds per batch, plain and XLA.

    python benchmarks/xla_probe.py [--cells gru,lstm,simple_rnn] [--batches 32,256]

The 2x64 stack over 96 steps of benchmarks/throughput.py, a training long enough to be probed
(benchmarks/PERFORMANCE.md, section 18).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import throughput


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", default="gru,lstm,simple_rnn")
    parser.add_argument("--batches", default="32,256")
    args = parser.parse_args()
    from rnnforecast import training

    for cell in args.cells.split(","):
        for batch in (int(b) for b in args.batches.split(",")):
            shape = argparse.Namespace(input_length=96, horizon=24, units=64, layers=2, epochs=20, batch_size=batch,
                                       train_fraction=0.9)
            folder = Path(tempfile.mkdtemp())
            cfg = throughput.make_config(throughput.write_series(folder, 3000), cell, shape, folder / "runs")
            start = time.perf_counter()
            model = training.build(cfg, 1, 1, train_windows=10_000)
            found = training.xla_probe(cfg, 1)
            times = found["seconds_per_batch"]
            print(f"{cell:<10} batch {batch:<4} plain {times['plain']:.4f} s  xla {times['xla']:.4f} s  "
                  f"-> xla {model.jit_compile is True}  (build with the probe {time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
