"""Run the LTSF benchmark protocol for one data set, setting and horizon; print test MSE and MAE.

    python benchmarks/ltsf.py --dataset ETTh1 --setting M --horizon 96 [--data-dir ../shared/data]

The protocol (../shared/data/README.md): split by row index (ETTh train [0, 8640), validation
[8640, 11520), test [11520, 14400), ETTm 4x these; Weather the first 70% of the rows, the next 10%
and the last 20%), validation and test windows start L rows before their part, every channel
standardized with the training rows' mean and std (ddof=0), MSE and MAE on the standardized values
over every test window (stride 1), step and channel. Setting M: every channel in and out (7 for ETT,
21 for Weather); S: OT only. The config comes from configs/benchmarks/<dataset>-<setting>.yaml
when there is one, else <dataset>.yaml; only the data file, the targets, the split and the horizon are
set here (plus any --set override).

The last line printed is the result, e.g.
    ETTh1 M L=96 H=96: test MSE 0.3712 MAE 0.3934 (2785 windows, standardized) | naive MSE 1.2954 ...
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from rnnforecast import config as config_module  # noqa: E402

DATASETS = {
    # name: (file, rows per hour relative to ETTh: ETTm has 4, so 4x the ETTh row indices; None: 70/10/20)
    "ETTh1": ("ETTh1.csv", 1),
    "ETTh2": ("ETTh2.csv", 1),
    "ETTm1": ("ETTm1.csv", 4),
    "ETTm2": ("ETTm2.csv", 4),
    "Weather": ("weather.csv", None),
}


def protocol_split(factor: int | None, path: Path) -> dict:
    """The protocol's split: ETT by fixed row indices; the other sets 70% / 10% / 20% of the file's rows.

    For the fractional split (LTSF-Linear's custom loader: train int(0.7 n), test int(0.2 n), validation
    the rest) the borders are given as the timestamps of those raw rows, so that they stay on the same
    rows when the reader merges a duplicated timestamp or fills a gap earlier in the file (weather.csv
    has one of each, both in the training part: its validation and test rows are the protocol's).
    """
    if factor is not None:
        return {"train_end": 8640 * factor, "val_end": 11520 * factor, "test_end": 14400 * factor}
    import pandas as pd

    times = pd.read_csv(path, usecols=["date"], encoding_errors="replace")["date"]
    n = len(times)
    train, test = int(n * 0.7), int(n * 0.2)
    return {"val_start": str(times.iloc[train]), "test_start": str(times.iloc[n - test])}


def channels(path: Path) -> list[str]:
    """Every column but the time column: the M setting's inputs and targets."""
    import pandas as pd

    return [c for c in pd.read_csv(path, nrows=0, encoding_errors="replace").columns if c != "date"]


def find_data(name: str, data_dir: Path | None) -> Path:
    """The data file: in --data-dir, else the project's data/, else ../shared/data beside the project."""
    places = [data_dir] if data_dir else [ROOT / "data", ROOT.parent / "shared" / "data"]
    for place in places:
        if (place / name).is_file():
            return (place / name).resolve()
    sys.exit(f"error: {name} is in none of {', '.join(str(p) for p in places)}; pass --data-dir.")


def benchmark_config(args: argparse.Namespace):
    """The benchmark config with the protocol's data file, targets, split and horizon set."""
    file, factor = DATASETS[args.dataset]
    folder = ROOT / "configs" / "benchmarks"
    per_setting = folder / f"{args.dataset.lower()}-{args.setting.lower()}.yaml"
    path = args.config or (per_setting if per_setting.is_file() else folder / f"{args.dataset.lower()}.yaml")
    raw = config_module.read_yaml(Path(path))
    data_path = find_data(file, args.data_dir)
    targets = channels(data_path) if args.setting == "M" else ["OT"]
    overrides = [
        f"data.path={data_path}",
        f"data.targets={json.dumps(targets)}",
        "data.features=[]",
        f"data.split={json.dumps(protocol_split(factor, data_path))}",
        f"window.horizon={args.horizon}",
        f"run.name=ltsf-{args.dataset}-{args.setting}-{args.horizon}",
    ]
    if args.seed is not None:
        overrides.append(f"training.seed={args.seed}")
    for item in overrides + list(args.set):
        config_module.apply_override(raw, item)
    return config_module.validate(raw, source=str(path)), Path(path)


def validation_mse(prepared) -> float:
    """MSE of the model's forecasts on the validation windows, standardized: what configs are chosen by.

    Computed from the saved model's forecasts, so it holds for any training loss (the best val_loss
    is this number only for a model trained on MSE).
    """
    from rnnforecast import forecasting

    found = forecasting.validation_forecasts(prepared)
    unit = np.asarray(prepared.run.prep["scale"][: prepared.n_targets])
    return float(np.mean(((found.forecasts["model"] - found.actual) / unit) ** 2))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", choices=sorted(DATASETS), required=True)
    parser.add_argument("--setting", choices=["M", "S"], default="M")
    parser.add_argument("--horizon", type=int, default=96)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--config", type=Path, default=None, help="default: configs/benchmarks/<dataset>[-<setting>].yaml")
    parser.add_argument("--seed", type=int, default=None, help="default: the config's training.seed")
    parser.add_argument("--set", action="append", default=[], help="a config override, e.g. training.epochs=2")
    parser.add_argument("--probe-only", action="store_true",
                        help="input_length auto or a list: run the probes, print their record, train nothing")
    args = parser.parse_args(argv)

    from rnnforecast import environment, forecasting, runs, training

    config, config_path = benchmark_config(args)
    if args.probe_only:
        started = time.perf_counter()
        record = training.prepare_data(config).lookback
        print(json.dumps({**(record or {}), "probe_seconds": round(time.perf_counter() - started, 1)}), flush=True)
        return
    started = time.perf_counter()
    run_path = training.train(config, config_path)
    train_seconds = time.perf_counter() - started
    run = runs.load(run_path)
    prepared = forecasting.prepare(run)
    report = forecasting.evaluate(prepared)
    val_mse = validation_mse(prepared)
    scaled = report["scaled"]
    mse = {name: scores["overall"]["rmse"] ** 2 for name, scores in scaled.items()}
    mae = {name: scores["overall"]["mae"] for name, scores in scaled.items()}
    result = {
        "dataset": args.dataset,
        "setting": args.setting,
        "input_length": config.window.input_length,
        "horizon": args.horizon,
        "seed": config.training.seed,
        "test_mse": mse["model"],
        "test_mae": mae["model"],
        "naive_mse": mse["naive"],
        "naive_mae": mae["naive"],
        "windows": report["windows"],
        "train_seconds": round(train_seconds, 1),
        "epochs_run": run.metadata.get("epochs_run"),
        "best_val_loss": run.metadata.get("best_val_loss"),
        "val_mse": val_mse,
        "machine": f"{environment.describe()['platform']}, {__import__('os').cpu_count()} CPU cores",
        "command": "python benchmarks/ltsf.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "run": str(run_path),
    }
    runs.write_json(run_path / "metrics.json", report)
    runs.write_json(run_path / "benchmark.json", result)
    print(
        f"{args.dataset} {args.setting} L={config.window.input_length} H={args.horizon} seed={config.training.seed}: "
        f"test MSE {mse['model']:.4f} MAE {mae['model']:.4f} ({report['windows']} windows, standardized) | "
        f"naive MSE {mse['naive']:.4f} MAE {mae['naive']:.4f} | train {train_seconds:.0f} s, "
        f"{result['epochs_run']} epochs, best val loss {result['best_val_loss']:.4f}, val MSE {val_mse:.4f} | {run_path}",
        flush=True,
    )


if __name__ == "__main__":
    main()
