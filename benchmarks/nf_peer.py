"""NeuralForecast LSTM peer for benchmarks/defaults.py.

Runs NeuralForecast's ``LSTM`` with its own defaults (only ``h`` set, as a
NeuralForecast user would) so rnnforecast's defaults can be compared with what
a well-known library gives out of the box. It needs neuralforecast, which the
project's venv does not carry, so it runs in its own venv and is called as a
subprocess:

    /work/nf-venv/bin/python benchmarks/nf_peer.py origins --csv Y.csv --column y \\
        --origins O.txt --horizon 7 --season 7 --out F.npy [--max-history 2000]
    /work/nf-venv/bin/python benchmarks/nf_peer.py panel --train TRAIN.csv \\
        --horizon 18 --season 12 --out F.csv

(venv: benchmarks/requirements-neuralforecast.txt). Each prints one line
``nf_peer fit_seconds=...`` with the wall time of the fit.

Only trainer *output* settings are changed (no progress bar, no logger, no
model summary), so nothing is written to the working directory; they do not
change the fit. The seed is LSTM's default ``random_seed=1``. ``--season`` is
accepted for symmetry with the other peers; NeuralForecast's LSTM has no
seasonal parameter, so it is not used.
"""

import argparse
import logging
import os
import sys
import time
import warnings

import numpy as np
import pandas as pd


def quiet():
    """Silence Lightning's and NeuralForecast's chatter so stdout stays parseable."""
    warnings.filterwarnings("ignore")
    for name in ("pytorch_lightning", "lightning", "lightning.pytorch", "lightning_fabric", "neuralforecast"):
        logging.getLogger(name).setLevel(logging.ERROR)
    os.environ.setdefault("PL_DISABLE_FORK", "1")


def make_nf(horizon, start_padding=False):
    """A NeuralForecast holding one LSTM with its defaults; only h is set.

    start_padding_enabled=True is what NeuralForecast's error advises when a
    series is shorter than input_size (3 * h by default); it is only turned on
    after the default fit refused (e.g. M3 monthly: 48-point series, h=18).
    """
    from neuralforecast import NeuralForecast
    from neuralforecast.models import LSTM

    kwargs = dict(logger=False, enable_progress_bar=False, enable_model_summary=False)
    if start_padding:
        kwargs["start_padding_enabled"] = True
    return NeuralForecast(models=[LSTM(h=horizon, **kwargs)], freq=1)


def describe(nf):
    """The LSTM's effective settings, as read back from the fitted model."""
    m = nf.models[0]
    keys = ("h", "input_size", "max_steps", "learning_rate", "batch_size",
            "windows_batch_size", "scaler_type", "random_seed", "encoder_n_layers",
            "encoder_hidden_size", "decoder_layers", "decoder_hidden_size", "start_padding_enabled")
    parts = [f"{k}={getattr(m, k, m.hparams.get(k))}" for k in keys]
    parts.append(f"recurrent={m.RECURRENT}")
    parts.append(f"loss={type(m.loss).__name__}")
    return "nf_peer lstm " + " ".join(parts)


def fit(nf_maker, horizon, df):
    """Fit, retrying once with start padding when NeuralForecast says the series are too short."""
    nf = nf_maker(horizon)
    start = time.perf_counter()
    try:
        nf.fit(df=df)
    except Exception as error:  # ValueError from NeuralForecast's check, bare Exception from the model's
        if not any(text in str(error) for text in ("requires at least", "too short", "No windows")):
            raise
        print(f"nf_peer note: default fit refused ({error}); retrying with start_padding_enabled=True",
              flush=True)
        nf = nf_maker(horizon, start_padding=True)
        start = time.perf_counter()
        nf.fit(df=df)
    seconds = time.perf_counter() - start
    print(describe(nf), flush=True)
    print(f"nf_peer fit_seconds={seconds:.3f}", flush=True)
    return nf


def interpolate(values):
    """Fill NaNs linearly between neighbours (constant beyond the ends), as the series was seen."""
    values = np.asarray(values, dtype=float)
    missing = np.isnan(values)
    if missing.all():
        raise SystemExit("series has no values")
    if missing.any():
        index = np.arange(values.size)
        values = values.copy()
        values[missing] = np.interp(index[missing], index[~missing], values[~missing])
    return values


def frame(values, first_ds, uid="s"):
    """NeuralForecast's long format with integer time steps (freq=1)."""
    return pd.DataFrame({"unique_id": uid, "ds": np.arange(first_ds, first_ds + len(values)), "y": values})


def forecast_origins(y, origins, horizon, max_history):
    """Train once before the first origin, then forecast H steps from every origin without refitting.

    Uses cross_validation(use_fitted=True): the fitted weights are kept and
    each window sees only the data before its cutoff. Windows run every
    gcd(origin gaps) steps from the first origin; the wanted ones are picked
    by cutoff. Returns (n_origins, H) in the order given.
    """
    order = np.unique(origins)
    if order.size != len(origins):
        raise SystemExit("origins must be distinct")
    first, last = int(order[0]), int(order[-1])
    if first < 1:
        raise SystemExit("the first origin needs history before it")
    start = max(0, first - max_history)
    nf = fit(make_nf, horizon, frame(y[start:first], start))

    # Windows need rows up to last + H; past the data's end pad with the last
    # value: those rows are never an input to any window.
    end = last + horizon
    full = y[start:min(end, len(y))]
    if end > len(y):
        full = np.concatenate([full, np.full(end - len(y), y[-1])])
    step = int(np.gcd.reduce(np.diff(order))) if order.size > 1 else horizon
    test_size = end - first
    cv = nf.cross_validation(df=frame(full, start), use_fitted=True, n_windows=None,
                             test_size=test_size, step_size=step)
    by_cutoff = {int(c): g.sort_values("ds") for c, g in cv.groupby("cutoff")}
    rows = []
    for origin in origins:
        window = by_cutoff[int(origin) - 1]
        if not np.array_equal(window["ds"].to_numpy(), np.arange(origin, origin + horizon)):
            raise SystemExit(f"forecast rows for origin {origin} do not line up")
        rows.append(window["LSTM"].to_numpy())
    out = np.vstack(rows)
    check_alignment(nf, y, start, origins, out)
    return out


def check_alignment(nf, y, start, origins, out):
    """Re-forecast the first and last origin with predict(df=history before it): must match the windows."""
    for i in sorted({0, len(origins) - 1}):
        origin = int(origins[i])
        direct = nf.predict(df=frame(y[start:origin], start))["LSTM"].to_numpy()
        if not np.allclose(direct, out[i], rtol=1e-4, atol=1e-4 * (np.abs(direct).max() + 1)):
            raise SystemExit(f"origin {origin}: cross_validation and predict disagree "
                             f"(max diff {np.abs(direct - out[i]).max():.3g})")


def run_origins(args):
    """The `origins` subcommand."""
    y = interpolate(pd.read_csv(args.csv)[args.column].to_numpy(dtype=float))
    with open(args.origins) as handle:
        origins = [int(line) for line in handle if line.strip()]
    if not origins:
        raise SystemExit("no origins")
    out = forecast_origins(y, origins, args.horizon, args.max_history)
    np.save(args.out, out)


def time_order(times):
    """Sort key for a time column of integers or dates."""
    numeric = pd.to_numeric(times, errors="coerce")
    if numeric.notna().all():
        return numeric
    return pd.to_datetime(times)


def run_panel(args):
    """The `panel` subcommand: one global LSTM on all series, H steps after each.

    Each series' times are replaced by 0..n-1 (assumes regular spacing), so
    freq=1 works whatever the calendar.
    """
    train = pd.read_csv(args.train, dtype={"id": str})
    train["_t"] = time_order(train["time"])
    train = train.sort_values(["id", "_t"], kind="stable")
    parts = []
    for uid, group in train.groupby("id", sort=False):
        parts.append(frame(interpolate(group["value"].to_numpy(dtype=float)), 0, uid))
    df = pd.concat(parts, ignore_index=True)
    nf = fit(make_nf, args.horizon, df)
    fc = nf.predict()
    last = df.groupby("unique_id")["ds"].max()
    fc["step"] = fc["ds"].to_numpy() - last.reindex(fc["unique_id"]).to_numpy()
    if not fc.groupby("unique_id")["step"].apply(lambda s: list(s) == list(range(1, args.horizon + 1))).all():
        raise SystemExit("panel forecast steps do not line up")
    fc.rename(columns={"unique_id": "id", "LSTM": "forecast"})[["id", "step", "forecast"]].to_csv(
        args.out, index=False)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    o = sub.add_parser("origins", help="one series, one fit, forecasts from many origins")
    o.add_argument("--csv", required=True)
    o.add_argument("--column", default="y")
    o.add_argument("--origins", required=True, help="file of row positions, one a line: each is the first forecast row")
    o.add_argument("--horizon", type=int, required=True)
    o.add_argument("--season", type=int, default=1, help="accepted, unused by NeuralForecast's LSTM")
    o.add_argument("--out", required=True, help=".npy of shape (n_origins, horizon)")
    o.add_argument("--max-history", type=int, default=2000, help="train on at most this many points before the first origin")
    p = sub.add_parser("panel", help="many series, one global fit, H steps after each")
    p.add_argument("--train", required=True, help="csv with columns id,time,value")
    p.add_argument("--horizon", type=int, required=True)
    p.add_argument("--season", type=int, default=1, help="accepted, unused by NeuralForecast's LSTM")
    p.add_argument("--out", required=True, help="csv with columns id,step,forecast")
    args = parser.parse_args(argv)
    quiet()
    if args.command == "origins":
        run_origins(args)
    else:
        run_panel(args)


if __name__ == "__main__":
    sys.exit(main())
