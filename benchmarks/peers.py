"""Classical peers from statsforecast (AutoETS, AutoTheta, SeasonalNaive) and MASE.

    python benchmarks/peers.py        # the measurement: mean MASE and time on a few collection items

The RNN defaults are judged against these, so they are fit the way their authors intend (automatic
model choice per series) and scored with MASE, the M4/Monash convention, so that panel numbers are
comparable with the published ones.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

MODELS = ("AutoETS", "AutoTheta", "SeasonalNaive")
ETS_MAX_SEASON = 24  # R's forecast::ets refuses seasonality above 24; see origin_forecasts


def _models(names, season: int, ets_max_season: int) -> list:
    from statsforecast.models import AutoETS, AutoTheta, Naive, SeasonalNaive

    built = []
    for name in names:
        if name == "AutoETS":
            if season > ets_max_season:
                warnings.warn(f"AutoETS: season {season} > {ets_max_season}: fit non-seasonal (season 1)")
            built.append(AutoETS(season_length=season if season <= ets_max_season else 1))
        elif name == "AutoTheta":
            built.append(AutoTheta(season_length=season))
        elif name == "SeasonalNaive":  # Naive when there is no season; the key stays SeasonalNaive
            built.append(SeasonalNaive(season_length=season) if season > 1 else Naive(alias="SeasonalNaive"))
        else:
            raise ValueError(f"unknown model {name!r}; known: {MODELS}")
    return built


def _forecast(df: pd.DataFrame, models: list, horizon: int, freq, n_jobs: int) -> pd.DataFrame:
    """StatsForecast once over all series; where a model fails on a series, Naive for that one."""
    from statsforecast import StatsForecast
    from statsforecast.models import Naive

    try:
        out = StatsForecast(models=models, freq=freq, n_jobs=n_jobs).forecast(df=df, h=horizon)
    except Exception:  # slow path: find the series and model that fail
        parts = []
        for uid, group in df.groupby("unique_id", sort=False):
            for model in models:
                try:
                    part = StatsForecast(models=[model], freq=freq).forecast(df=group, h=horizon)
                except Exception as error:
                    warnings.warn(f"{model.alias} failed on series {uid} ({error!r}): Naive used")
                    fallback = Naive(alias=model.alias)
                    part = StatsForecast(models=[fallback], freq=freq).forecast(df=group, h=horizon)
                parts.append(part.set_index(["unique_id", "ds"]))
        out = pd.concat(parts).groupby(level=[0, 1], sort=False).first().reset_index()
    return out.sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True)


def _interpolate(y: np.ndarray) -> np.ndarray:
    """Linear interpolation over NaNs (constant at the ends); uses only the values given."""
    y = np.asarray(y, dtype=float)
    missing = np.isnan(y)
    if missing.all():
        raise ValueError("a history with no value at all")
    if missing.any():
        y = y.copy()
        y[missing] = np.interp(np.flatnonzero(missing), np.flatnonzero(~missing), y[~missing])
    return y


def origin_forecasts(
    y: np.ndarray,
    origins: np.ndarray,
    horizon: int,
    season: int,
    models=MODELS,
    max_history: int = 2000,
    ets_max_season: int = ETS_MAX_SEASON,
    n_jobs: int = 1,
) -> dict[str, np.ndarray]:
    """Forecast `horizon` steps from each origin (row of the first forecast): arrays (n_origins, horizon).

    Each fit sees y[max(0, origin - max_history):origin], NaNs filled by linear interpolation within
    that history only (no look-ahead). The cap keeps fits on 10,000-row hourly series quick; ETS and
    Theta hardly use older data. All origins go to StatsForecast in one call, one unique_id each.
    statsforecast 2.1.1 itself fits seasonal ETS at any season, but slowly (about 10 s per fit at 365
    on 2,000 points) and R's forecast::ets refuses seasons above 24: above `ets_max_season` AutoETS is
    fit non-seasonal (with a warning); Theta and SeasonalNaive keep the season.
    """
    y = np.asarray(y, dtype=float)
    origins = np.asarray(origins, dtype=int)
    if origins.min() < max(season, 2) or origins.max() > len(y):
        raise ValueError(f"origins must lie in [{max(season, 2)}, {len(y)}] (a season of history at least)")
    histories = [_interpolate(y[max(0, o - max_history):o]) for o in origins]
    df = pd.DataFrame({
        "unique_id": np.repeat(np.arange(len(origins)), [len(h) for h in histories]),
        "ds": np.concatenate([np.arange(len(h)) for h in histories]),
        "y": np.concatenate(histories),
    })
    out = _forecast(df, _models(models, season, ets_max_season), horizon, 1, n_jobs)
    return {name: out[name].to_numpy().reshape(len(origins), horizon) for name in models}


def panel_forecasts(
    train: pd.DataFrame, horizon: int, season: int, frequency: str | None, models=MODELS, n_jobs: int = 1
) -> dict[str, pd.DataFrame]:
    """Fit each model on each series of `train` (id,time,value); {model: frame of id, step, forecast}.

    Integer time (what collection.panel writes) is used as steps whatever `frequency` says; NaNs are interpolated
    per series. Seasons above ETS_MAX_SEASON make AutoETS non-seasonal, as in origin_forecasts.
    """
    train = train.sort_values(["id", "time"], kind="stable")
    values = train.groupby("id", sort=False)["value"].transform(lambda v: _interpolate(v.to_numpy()))
    df = pd.DataFrame({"unique_id": train["id"].to_numpy(), "y": values.to_numpy()})
    if frequency is None or pd.api.types.is_numeric_dtype(train["time"]):  # integer steps
        df["ds"], frequency = train["time"].to_numpy().astype(int), None
    else:
        df["ds"] = pd.to_datetime(train["time"]).to_numpy()
    out = _forecast(df, _models(models, season, ETS_MAX_SEASON), horizon, frequency or 1, n_jobs)
    out["step"] = out.groupby("unique_id", sort=False).cumcount() + 1
    return {
        name: out[["unique_id", "step", name]].rename(columns={"unique_id": "id", name: "forecast"})
        for name in models
    }


def mase(actual, forecast, insample, season: int) -> float:
    """MAE of the forecast over the in-sample mean absolute seasonal difference (M4/Monash MASE).

    Lag `season`, or 1 when the history is no longer than a season. NaN when that scale is 0.
    """
    actual, forecast, insample = (np.asarray(a, dtype=float) for a in (actual, forecast, insample))
    lag = season if len(insample) > season else 1
    scale = np.nanmean(np.abs(insample[lag:] - insample[:-lag]))
    return float(np.nanmean(np.abs(actual - forecast)) / scale) if scale > 0 else float("nan")


def mean_mase(test_df: pd.DataFrame, forecast_df: pd.DataFrame, train_df: pd.DataFrame, season: int) -> float:
    """Mean over series of MASE: test (id,step,actual), forecast (id,step,forecast), train (id,time,value)."""
    joined = test_df.merge(forecast_df, on=["id", "step"], how="left")
    if joined["forecast"].isna().any():
        raise ValueError("forecasts missing for some (id, step) of the test set")
    history = {k: g["value"].to_numpy() for k, g in train_df.sort_values(["id", "time"]).groupby("id")}
    scores = np.array([
        mase(g["actual"], g["forecast"], history[k], season) for k, g in joined.groupby("id")
    ])
    if np.isnan(scores).any():
        warnings.warn(f"{int(np.isnan(scores).sum())} series with a flat history left out of the mean")
    return float(np.nanmean(scores))


if __name__ == "__main__":
    import tempfile
    import time
    from pathlib import Path

    import collection

    folder = Path(tempfile.mkdtemp())
    for name in ("m3-monthly", "tourism-quarterly", "tourism-yearly"):
        info = collection.panel(name, folder)
        train, test = pd.read_csv(info["train"]), pd.read_csv(info["test"])
        start = time.perf_counter()
        forecasts = panel_forecasts(train, info["horizon"], info["season"], info["frequency"])
        took = time.perf_counter() - start
        scores = {m: mean_mase(test, f, train, info["season"]) for m, f in forecasts.items()}
        print(f"{name:24s} {info['n_series']:5d} series  " + "  ".join(f"{m} {s:.3f}" for m, s in scores.items())
              + f"  ({took:.0f} s)", flush=True)
    for name, step in (("daily-min-temperatures", 7), ("ETTh1", 24)):
        item = next(i for i in collection.SINGLE if i["name"] == name)
        y = pd.read_csv(collection.single_series(name, folder))[item["target"]].to_numpy(float)
        h, m = item["horizon"], item["season"]
        origins = np.arange(len(y) - int(0.15 * len(y)), len(y) - h + 1, step)
        start = time.perf_counter()
        forecasts = origin_forecasts(y, origins, h, m)
        took = time.perf_counter() - start
        scores = {
            k: np.mean([mase(y[o:o + h], f[i], y[:o], m) for i, o in enumerate(origins)])
            for k, f in forecasts.items()
        }
        print(f"{name:24s} {len(origins):5d} origins " + "  ".join(f"{k} {s:.3f}" for k, s in scores.items())
              + f"  ({took:.0f} s, season {m}, H {h})", flush=True)
