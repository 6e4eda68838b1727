"""NLinear fitted exactly (least squares) under the LTSF protocol: the linear reference at any look-back.

    python benchmarks/nlinear.py --dataset ETTh1 --setting S --lookback 96 [--horizon 96] [--data-dir DIR]

NLinear (LTSF-Linear) subtracts each window's last value, maps the L inputs to the H outputs with one
linear layer (weights shared by every channel) and adds the last value back. Its training loss is
a least-squares problem, so instead of training it with Adam this script solves for the weights that
minimize the training windows' MSE: the best any NLinear training run could reach on those windows.
It shows how much of a published NLinear number comes from its look-back (the LTSF-Linear tables use
L = 336) rather than from the model. Same split, standardization and windows as `ltsf.py` (ETT only).

The last line printed is the result, e.g.
    NLinear ETTh1 S L=96 H=96: val MSE 0.0981 test MSE 0.0548 MAE 0.1801 (2785 windows, standardized)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ltsf import DATASETS, channels, find_data, protocol_split  # noqa: E402


def windows(values: np.ndarray, start: int, stop: int, lookback: int, horizon: int):
    """(inputs, targets) of every window whose targets lie in rows [start, stop), one row per channel."""
    first = np.arange(max(start - lookback, 0), stop - lookback - horizon + 1)
    inputs = np.stack([values[s : s + lookback] for s in first])  # (windows, L, channels)
    targets = np.stack([values[s + lookback : s + lookback + horizon] for s in first])
    flat = lambda a: np.moveaxis(a, -1, 1).reshape(-1, a.shape[1])  # noqa: E731 (windows * channels, steps)
    return flat(inputs), flat(targets), len(first)


def fit(inputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """The NLinear weights (L + 1, H) with the least training MSE: inputs minus their last value, plus a bias."""
    last = inputs[:, -1:]
    design = np.c_[inputs[:, :-1] - last, np.ones(len(inputs))]  # the last column minus itself is always 0
    weights, *_ = np.linalg.lstsq(design, targets - last, rcond=None)
    return weights


def forecast(weights: np.ndarray, inputs: np.ndarray) -> np.ndarray:
    last = inputs[:, -1:]
    return np.c_[inputs[:, :-1] - last, np.ones(len(inputs))] @ weights + last


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", choices=[name for name, (_, factor) in DATASETS.items() if factor], required=True)
    parser.add_argument("--setting", choices=["M", "S"], default="S")
    parser.add_argument("--lookback", type=int, default=96)
    parser.add_argument("--horizon", type=int, default=96)
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args(argv)

    import pandas as pd

    file, factor = DATASETS[args.dataset]
    path = find_data(file, args.data_dir)
    split = protocol_split(factor, path)
    columns = channels(path) if args.setting == "M" else ["OT"]
    values = pd.read_csv(path, usecols=columns)[columns].to_numpy(float)[: split["test_end"]]
    train = values[: split["train_end"]]
    values = (values - train.mean(0)) / train.std(0)  # ddof=0, training rows only

    L, H = args.lookback, args.horizon
    weights = fit(*windows(values, 0, split["train_end"], L, H)[:2])
    val_x, val_y, _ = windows(values, split["train_end"], split["val_end"], L, H)
    test_x, test_y, n_test = windows(values, split["val_end"], split["test_end"], L, H)
    val_mse = np.mean((forecast(weights, val_x) - val_y) ** 2)
    test_error = forecast(weights, test_x) - test_y
    print(
        f"NLinear {args.dataset} {args.setting} L={L} H={H}: val MSE {val_mse:.4f} test MSE "
        f"{np.mean(test_error ** 2):.4f} MAE {np.mean(np.abs(test_error)):.4f} ({n_test} windows, standardized)"
    )


if __name__ == "__main__":
    main()
