"""Training and prediction throughput: rnnforecast's own path against a plain PyTorch model of the same shape.

    python benchmarks/throughput.py                       # the issue's shapes, all three cell types
    python benchmarks/throughput.py --epochs 2 --windows 4000 --cells lstm   # a quick look

Ours runs the code `rnnforecast train` runs: a config, `training.prepare_data` on a CSV
file written to a temporary folder, `training.build`, `training.fit` (its window batches,
callbacks and all) and `forecasting.predict_scaled`. The reference is a plain `torch.nn`
LSTM/GRU/RNN stack with a linear head, Adam and MSE, fed the same windows gathered per
batch the same way. Both use the machine's default thread settings.

The first epoch of each is a warm-up (graph tracing, kernel selection) and is not timed;
each later epoch's training batches are timed (validation excluded on both sides) and
the median epoch is reported. Absolute numbers are noise on a shared machine: read the
ratios, which come from one run. Needs `pip install -r benchmarks/requirements.txt`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

CELLS = ("lstm", "gru", "simple_rnn")


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

    return config_module.validate(
        {
            "data": {"path": str(path), "targets": ["y"], "split": {"train": args.train_fraction, "val": 0.02}},
            "window": {"input_length": args.input_length, "horizon": args.horizon},
            "model": {"type": cell, "layers": [{"units": args.units}] * args.layers},
            "training": {
                "epochs": args.epochs,
                "batch_size": args.batch_size,
                "seed": 0,
                "early_stopping": None,
                "reduce_lr": None,
            },
            "run": {"dir": str(run_dir)},
        }
    )


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


def bench_ours(cell: str, series: Path, args, run_dir: Path) -> tuple[float, float]:
    from rnnforecast import forecasting, training

    config = make_config(series, cell, args, run_dir)
    prepared = training.prepare_data(config)
    prepared.starts["train"] = prepared.starts["train"][: args.windows]
    n = len(prepared.starts["train"])
    model = training.build(config, len(prepared.series.columns))
    timer = epoch_timer()
    original = training._callbacks
    training._callbacks = lambda cfg: original(cfg) + [timer]  # time the real fit, callbacks and all
    try:
        training.fit(model, prepared, config, verbose=0)
    finally:
        training._callbacks = original
    train_rate = n / statistics.median(timer.seconds[1:] or timer.seconds)
    starts = prepared.starts["train"]
    predict_rate = _best_rate(lambda: forecasting.predict_scaled(model, prepared.values, starts, args.input_length), n)
    return train_rate, predict_rate, prepared.values, starts


def bench_torch(cell: str, values: np.ndarray, starts: np.ndarray, args) -> tuple[float, float]:
    import torch

    torch.manual_seed(0)
    rnn_class = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "simple_rnn": torch.nn.RNN}[cell]
    n_inputs = values.shape[1]

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = rnn_class(n_inputs, args.units, num_layers=args.layers, batch_first=True)
            self.head = torch.nn.Linear(args.units, args.horizon)

        def forward(self, x):
            out, _ = self.rnn(x)
            return self.head(out[:, -1]).unsqueeze(-1)

    net = Net()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = torch.nn.MSELoss()
    series = torch.from_numpy(values)
    offsets = torch.arange(args.input_length + args.horizon)
    rng = np.random.default_rng(0)
    seconds = []
    for _ in range(args.epochs):
        order = torch.from_numpy(rng.permutation(starts))
        start = time.perf_counter()
        net.train()
        for i in range(0, len(order), args.batch_size):
            block = series[order[i : i + args.batch_size, None] + offsets]
            x, y = block[:, : args.input_length], block[:, args.input_length :, :1]
            optimizer.zero_grad()
            loss = loss_fn(net(x), y)
            loss.backward()
            optimizer.step()
        seconds.append(time.perf_counter() - start)
    train_rate = len(starts) / statistics.median(seconds[1:] or seconds)

    def predict():
        net.eval()
        rows = torch.from_numpy(starts)[:, None] + torch.arange(args.input_length)
        with torch.no_grad():
            return [net(series[rows[i : i + 1024]]) for i in range(0, len(rows), 1024)]

    return train_rate, _best_rate(predict, len(starts))


def _best_rate(call, n: int, repeats: int = 3) -> float:
    """Windows per second of the median of `repeats` timed calls after one warm-up call."""
    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return n / statistics.median(times)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", default=",".join(CELLS), help="comma-separated: lstm,gru,simple_rnn")
    parser.add_argument("--epochs", type=int, default=3, help="the first is a warm-up, the rest are timed")
    parser.add_argument("--windows", type=int, default=20_000, help="training windows per epoch")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--input-length", type=int, default=96)
    parser.add_argument("--horizon", type=int, default=24)
    parser.add_argument("--units", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--no-torch", action="store_true", help="ours only (no ratios)")
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
    print(f"keras {keras.__version__} backend {keras.backend.backend()}, {os.cpu_count()} CPUs, "
          f"{args.windows} windows, batch {args.batch_size}, {args.layers}x{args.units}, "
          f"input {args.input_length}, horizon {args.horizon}, {args.epochs} epochs (first untimed)", flush=True)
    train_ratio, rows = {}, []
    with tempfile.TemporaryDirectory() as tmp:
        series = write_series(Path(tmp), n_rows)
        for cell in cells:
            ours_train, ours_predict, values, starts = bench_ours(cell, series, args, Path(tmp) / "runs")
            line = f"{cell:<10} ours   train {ours_train:8.0f} windows/s  predict {ours_predict:8.0f} windows/s"
            print(line, flush=True)
            if args.no_torch:
                continue
            ref_train, ref_predict = bench_torch(cell, values, starts, args)
            print(f"{cell:<10} torch  train {ref_train:8.0f} windows/s  predict {ref_predict:8.0f} windows/s", flush=True)
            train_ratio[cell] = ours_train / ref_train
            rows.append(f"{cell:<10} ratio  train {ours_train / ref_train:8.2f}            "
                        f"predict {ours_predict / ref_predict:8.2f}")
    if args.no_torch:
        return
    print("\n".join(rows))
    print("predict ratio " + " ".join(f"{c}={float(r.split()[-1]):.2f}" for c, r in zip(cells, rows)))
    print("train ratio " + " ".join(f"{c}={train_ratio[c]:.2f}" for c in cells))


if __name__ == "__main__":
    main()
