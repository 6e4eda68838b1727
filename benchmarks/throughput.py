"""Training and prediction throughput: rnnforecast's own path against a plain PyTorch model of the same shape.

    python benchmarks/throughput.py                       # the issue's shapes, all three cell types
    python benchmarks/throughput.py --epochs 2 --windows 4000 --cells lstm   # a quick look

Ours runs the code `rnnforecast train` runs: a config, `training.prepare_data` on a CSV
file written to a temporary folder, `training.build`, `training.fit` (its window batches,
callbacks and all) and `forecasting.predict_scaled`. The reference is a plain `torch.nn`
LSTM/GRU/RNN stack with a linear head, Adam and MSE, fed the same windows gathered per
batch the same way. Both use the machine's default thread settings.

Epochs alternate, ours then the reference's, so both see the same load from whatever else
the machine runs, and every cell is repeated (`--repeats`, default 3): the median ratio and its range
are printed, beside the CPU model, the core count, the load average before and after, the library
versions and the threads. A run whose load average exceeds the core count is refused unless
`--allow-loaded` is given, and then its numbers are marked LOADED. The first epoch of each is a warm-up (graph tracing, kernel selection)
and is not timed; each later epoch's training batches are timed (validation excluded on
both sides) and the median epoch is reported. Prediction: median of 3 timed passes over
the training windows after one warm-up pass. Absolute numbers are noise on a shared machine: read the
ratios, which come from one run. Needs `pip install -r benchmarks/requirements.txt`.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

CELLS = ("lstm", "gru", "simple_rnn", "default")
# "default": the model a minimal config trains (README, "The defaults, and why"): one LSTM layer of 64 over
# the look-back read in 8 segments (12 steps each at 96), last-value window normalization, the seasonal
# highway, the absolute error. The reference builds the same graph in torch.
DEFAULT_SEGMENTS = 8


def write_series(folder: Path, n_rows: int, n_columns: int = 1, seed: int = 0) -> Path:
    """A noisy daily-and-weekly seasonal hourly series as CSV, written in chunks (flat memory)."""
    rng = np.random.default_rng(seed)
    path = folder / "series.csv"
    names = ["y"] + [f"x{i}" for i in range(1, n_columns)]
    with path.open("w") as out:
        out.write("step," + ",".join(names) + "\n")
        for lo in range(0, n_rows, 100_000):
            t = np.arange(lo, min(lo + 100_000, n_rows))
            base = np.sin(2 * np.pi * t / 24) + 0.5 * np.sin(2 * np.pi * t / 168)
            cols = [base[:, None] * (1 + 0.1 * c) + 0.2 * rng.standard_normal((len(t), 1)) for c in range(n_columns)]
            block = np.column_stack([t] + [c[:, 0] for c in cols])
            np.savetxt(out, block, fmt=["%d"] + ["%.5f"] * n_columns, delimiter=",")
    return path


def make_config(path: Path, cell: str, args, run_dir: Path):
    from rnnforecast import config as config_module

    if cell == "default":
        return config_module.validate(
            {
                "data": {"path": str(path), "targets": ["y"], "split": {"train": args.train_fraction, "val": 0.02}},
                "window": {"input_length": args.input_length, "horizon": args.horizon},
                "model": {"segment_length": args.input_length // DEFAULT_SEGMENTS},  # what the derived look-back gets
                "training": {"epochs": args.epochs, "batch_size": args.batch_size, "seed": 0, "early_stopping": None,
                             "reduce_lr": None, "refit": False},
                "run": {"dir": str(run_dir)},
            }
        )
    return config_module.validate(
        {
            "data": {"path": str(path), "targets": ["y"], "split": {"train": args.train_fraction, "val": 0.02}},
            "window": {"input_length": args.input_length, "horizon": args.horizon},
            # the plain stack the PyTorch reference builds: no window normalization, no highway, MSE (not today's defaults)
            "model": {"type": cell, "layers": [{"units": args.units}] * args.layers, "normalization": "none",
                      "highway": False},
            "training": {
                "epochs": args.epochs,
                "batch_size": args.batch_size,
                "seed": 0,
                "loss": "mse",
                "early_stopping": None,
                "reduce_lr": None,
            },
            "run": {"dir": str(run_dir)},
        }
    )


def set_threads(n: int, backend: str) -> None:
    """The same number of intra-op threads for both frameworks (a benchmark setting, not rnnforecast's)."""
    if importlib.util.find_spec("torch") is not None:
        import torch

        torch.set_num_threads(n)
    if backend == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(n)
        tf.config.threading.set_inter_op_parallelism_threads(n)


def epoch_timer():
    """A Keras callback timing each epoch's training batches (validation excluded)."""
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            self.last = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(self.last - self.start)

    return EpochTimer()


class Ours:
    """rnnforecast's path: prepare_data, build, then fit one epoch at a time (timed by a callback)."""

    def __init__(self, cell: str, series: Path, args, run_dir: Path):
        from rnnforecast import training

        self.args = args
        self.config = make_config(series, cell, args, run_dir)
        self.config.training.epochs = 1  # fit is called once per epoch, interleaved with the reference
        self.prepared = training.prepare_data(self.config)
        self.prepared.starts["train"] = self.prepared.starts["train"][: args.windows]
        self.starts = self.prepared.starts["train"]
        self.values = self.prepared.values
        self.model = training.build(self.config, len(self.prepared.series.columns), self.prepared.prep["season_length"])
        self.timer = epoch_timer()

    def train_epoch(self) -> float:
        from rnnforecast import training

        # time the real fit, its callbacks and all
        training.fit(self.model, self.prepared, self.config, verbose=0, extra_callbacks=[self.timer])
        return self.timer.seconds[-1]

    def predict(self):
        from rnnforecast import forecasting

        return forecasting.predict_scaled(self.model, self.values, self.starts, self.args.input_length)


class Torch:
    """The plain PyTorch reference: nn.LSTM/GRU/RNN stack, linear head on the last step, Adam, MSE."""

    def __init__(self, cell: str, values: np.ndarray, starts: np.ndarray, args):
        import torch

        self.torch, self.args, self.starts = torch, args, starts
        torch.manual_seed(0)
        rnn_class = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "simple_rnn": torch.nn.RNN, "default": None}[cell]

        class Net(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.rnn = rnn_class(values.shape[1], args.units, num_layers=args.layers, batch_first=True)
                self.head = torch.nn.Linear(args.units, args.horizon)

            def forward(self, x):
                out, _ = self.rnn(x)
                return self.head(out[:, -1]).unsqueeze(-1)

        self.net = DefaultNet(torch, args) if cell == "default" else Net()
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=1e-3)
        self.loss_fn = torch.nn.L1Loss() if cell == "default" else torch.nn.MSELoss()
        self.series = torch.from_numpy(values)
        self.offsets = torch.arange(args.input_length + args.horizon)
        self.rng = np.random.default_rng(0)

    def train_epoch(self) -> float:
        args = self.args
        order = self.torch.from_numpy(self.rng.permutation(self.starts))
        start = time.perf_counter()
        self.net.train()
        for i in range(0, len(order), args.batch_size):
            block = self.series[order[i : i + args.batch_size, None] + self.offsets]
            x, y = block[:, : args.input_length], block[:, args.input_length :, :1]
            self.optimizer.zero_grad()
            loss = self.loss_fn(self.net(x), y)
            loss.backward()
            self.optimizer.step()
        return time.perf_counter() - start

    def predict(self):
        self.net.eval()
        rows = self.torch.from_numpy(self.starts)[:, None] + self.torch.arange(self.args.input_length)
        with self.torch.no_grad():
            return [self.net(self.series[rows[i : i + 1024]]) for i in range(0, len(rows), 1024)]


def DefaultNet(torch, args):
    """The default model in torch: window normalization, seasonal highway, segment embedding, LSTM, head."""
    seg = args.input_length // DEFAULT_SEGMENTS

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = torch.nn.Linear(seg, args.units)
            self.rnn = torch.nn.LSTM(args.units, args.units, batch_first=True)
            self.head = torch.nn.Linear(args.units, args.horizon)
            self.highway = torch.nn.Linear(args.input_length, args.horizon)

        def forward(self, x):
            x = x[..., 0]
            last = x[:, -1:]
            x = x - last
            segments = torch.relu(self.embed(x.reshape(len(x), DEFAULT_SEGMENTS, seg)))
            out, _ = self.rnn(segments)
            return (self.head(out[:, -1]) + self.highway(x) + last).unsqueeze(-1)

    return Net()


def measure(cell: str, series: Path, args, run_dir: Path) -> dict:
    """Windows/s of training and prediction, ours and the reference's, their epochs interleaved.

    Interleaving puts both under the same load from whatever else the machine runs.
    """
    ours = Ours(cell, series, args, run_dir)
    contenders = {"ours": ours}
    if not args.no_torch:
        contenders["torch"] = Torch(cell, ours.values, ours.starts, args)
    seconds = {name: [] for name in contenders}
    for _ in range(args.epochs):
        for name, bench in contenders.items():
            seconds[name].append(bench.train_epoch())
    n = len(ours.starts)
    result = {}
    for name, bench in contenders.items():
        timed = seconds[name][1:] or seconds[name]
        result[name] = (n / statistics.median(timed), _best_rate(bench.predict, n))
    return result


def _best_rate(call, n: int, repeats: int = 3) -> float:
    """Windows per second of the median of `repeats` timed calls after one warm-up call."""
    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return n / statistics.median(times)


def machine_facts(threads: int) -> dict:
    """What a throughput number depends on: the CPU, its cores, the load, the libraries, the threads."""
    import platform

    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for name in ("keras", "tensorflow", "jax", "torch", "numpy"):
        if importlib.util.find_spec(name) is not None:
            versions[name] = __import__(name).__version__
    return {"cpu": model, "cores": os.cpu_count(), "load": os.getloadavg()[0], "versions": versions,
            "threads": threads or "default"}


def _spread(values: list[float]) -> str:
    """The median and the range of the repetitions' ratios: 1.05 (0.98-1.11)."""
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", default=",".join(CELLS), help="comma-separated: lstm,gru,simple_rnn")
    parser.add_argument("--epochs", type=int, default=6, help="the first is a warm-up, the rest are timed")
    parser.add_argument("--repeats", type=int, default=3, help="repetitions of every cell; the median ratio is reported")
    parser.add_argument("--windows", type=int, default=20_000, help="training windows per epoch")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--input-length", type=int, default=96)
    parser.add_argument("--horizon", type=int, default=24)
    parser.add_argument("--units", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--no-torch", action="store_true", help="ours only (no ratios)")
    parser.add_argument("--allow-loaded", action="store_true",
                        help="measure even when the load average exceeds the core count (the output says LOADED)")
    parser.add_argument(
        "--threads", type=int, default=0,
        help="intra-op threads for both frameworks (default: each framework's own default). "
        "1 gives ratios that hold on a machine shared with other work, where PyTorch's OpenMP "
        "threads wait for each other",
    )
    args = parser.parse_args(argv)
    cells = [c.strip() for c in args.cells.split(",") if c.strip()]
    unknown = sorted(set(cells) - set(CELLS))
    if unknown:
        parser.error(f"unknown cell type(s) {', '.join(unknown)}; choose from {', '.join(CELLS)}")
    # Enough rows for `windows` training windows with 2% validation after them.
    span = args.input_length + args.horizon
    n_rows = int((args.windows + span) / 0.9) + span
    args.train_fraction = 0.9

    from rnnforecast import environment

    keras = environment.import_keras()
    if args.threads:
        set_threads(args.threads, keras.backend.backend())
    facts = machine_facts(args.threads)
    loaded = facts["load"] > facts["cores"]
    print(f"cpu {facts['cpu']}, {facts['cores']} cores, load average {facts['load']:.2f} before, "
          f"threads {facts['threads']}, " + ", ".join(f"{k} {v}" for k, v in facts["versions"].items()), flush=True)
    if loaded and not args.allow_loaded:
        raise SystemExit(f"refused: the load average ({facts['load']:.2f}) exceeds the {facts['cores']} cores; other "
                         "work would set the ratios. Run it alone, or pass --allow-loaded to see LOADED numbers.")
    print(f"backend {keras.backend.backend()}, {args.windows} windows, batch {args.batch_size}, "
          f"{args.layers}x{args.units}, input {args.input_length}, horizon {args.horizon}, {args.epochs} epochs "
          f"(first untimed), {args.repeats} repetitions", flush=True)
    train_ratio: dict[str, list[float]] = {}
    predict_ratio: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        series = write_series(Path(tmp), n_rows)
        for repeat in range(args.repeats):
            for cell in cells:
                result = measure(cell, series, args, Path(tmp) / "runs")
                for name, (train_rate, predict_rate) in result.items():
                    print(f"{repeat + 1}  {cell:<10} {name:<6} train {train_rate:8.0f} windows/s  "
                          f"predict {predict_rate:8.0f} windows/s")
                if "torch" in result:
                    train_ratio.setdefault(cell, []).append(result["ours"][0] / result["torch"][0])
                    predict_ratio.setdefault(cell, []).append(result["ours"][1] / result["torch"][1])
                    print(f"{repeat + 1}  {cell:<10} ratio  train {train_ratio[cell][-1]:8.2f}            "
                          f"predict {predict_ratio[cell][-1]:8.2f}", flush=True)
    after = os.getloadavg()[0]
    tag = " LOADED" if loaded or after > facts["cores"] else ""
    print(f"load average {after:.2f} after{tag}")
    if train_ratio:
        print(f"median ratio over {args.repeats} repetitions (range){tag}, {facts['cpu']}:")
        print("  train   " + "  ".join(f"{c}={_spread(r)}" for c, r in train_ratio.items()))
        print("  predict " + "  ".join(f"{c}={_spread(r)}" for c, r in predict_ratio.items()))


if __name__ == "__main__":
    main()
