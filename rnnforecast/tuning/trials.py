"""One trial: its config trained as `train` would, in memory, and scored on the validation windows."""

from __future__ import annotations

import math
import os
import socket
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from rnnforecast import config as config_module
from rnnforecast import runs
from rnnforecast.config import Config
from rnnforecast.errors import UserError
from rnnforecast.tuning.space import Dimension, configure, sample
from rnnforecast.tuning.study import heartbeat


def validation_scores(config: Config, prep: dict, model) -> dict[str, float]:
    """Every metric `evaluate` reports, on the validation windows (a panel: the mean over its series)."""
    from rnnforecast import forecasting

    run = runs.Run(Path(config.run.dir), config, prep, {}, pd.DataFrame())
    if run.is_panel:  # the series with validation windows (one too short for every part is trained on, not scored)
        untrained = set(prep.get("untrained", []))
        prepared = [one for key, one in forecasting.prepare_panel(run).items() if key not in untrained]
    else:
        prepared = [forecasting.prepare(run)]
    per_series = []
    for one in prepared:
        result = forecasting.validation_forecasts(one, model)
        scored = forecasting.score_forecasts(result.scored, {"model": result.forecasts["model"]}, one.run.prep)
        per_series.append(scored["original"]["model"]["overall"] | {"scaled_mae": scored["scaled"]["model"]["overall"]["mae"]})
    scores = {
        key: float(np.mean([s[key] for s in per_series])) if all(s[key] is not None for s in per_series) else None
        for key in per_series[0]
    }
    return scores


def _train_trial(config: Config, trial) -> tuple[dict[str, float], int, int]:
    """Train the trial's config as `train` would (in memory), reporting val_loss each epoch for pruning."""
    import optuna

    from rnnforecast import environment, training

    keras = environment.import_keras()

    class Pruning(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            value = (logs or {}).get("val_loss")
            if value is None or not math.isfinite(float(value)):
                return
            trial.report(float(value), epoch)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned after epoch {epoch + 1} (val_loss {float(value):.4g})")

    keras.backend.clear_session()  # each trial builds a new graph; do not keep the old ones
    prepared = training.prepare_data(config)
    model = training.build(config, len(prepared.series.columns), prepared.prep["season_length"],
                           train_windows=len(prepared.starts["train"]))
    fitted = training.fit(model, prepared, config, verbose=0, extra_callbacks=[Pruning()])
    val = np.asarray(fitted.history.get("val_loss", []), dtype=float)
    # The epoch whose weights the model kept: 0 when no epoch beat the untrained (fitted) start, as in `train`.
    best_epoch = fitted.best_epoch + 1
    kept = fitted.initial_val_loss if best_epoch == 0 else val[best_epoch - 1]
    scores = validation_scores(config, prepared.prep, model)
    return scores | {"val_loss": float(np.nan if kept is None else kept)}, best_epoch, len(val)


def run_trial(study, trial, base: dict, dims: list[Dimension], objective: str) -> None:
    """Run one trial and tell the study; a failure is recorded with its reason and the search goes on."""
    import optuna
    from optuna.trial import TrialState

    started = time.monotonic()
    state, value = TrialState.FAIL, None
    trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
    beating = heartbeat(trial)
    try:
        params = sample(trial, dims)
        config = config_module.validate(configure(base, params), source=f"trial {trial.number}'s config")
        trial.set_user_attr("config", config_module.search_base(config))
        scores, best_epoch, epochs = _train_trial(config, trial)
        trial.set_user_attr("epochs", epochs)
        trial.set_user_attr("best_epoch", best_epoch)
        trial.set_user_attr("scores", scores)
        value = scores.get(objective)
        if value is None or not math.isfinite(value):
            trial.set_user_attr("reason", f"the validation {objective} is {value} (undefined for this series)")
        else:
            state = TrialState.COMPLETE
    except optuna.TrialPruned as exc:
        state = TrialState.PRUNED
        trial.set_user_attr("reason", str(exc) or "pruned")
    except Exception as exc:  # NaN loss, a config the schema refuses, out of memory: record it and go on
        text = str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
        trial.set_user_attr("reason", " ".join(text.split())[:1000])
    finally:
        beating.set()
    try:
        trial.set_user_attr("duration_s", round(time.monotonic() - started, 1))
        study.tell(trial, value if state == TrialState.COMPLETE else None, state=state)
    except optuna.exceptions.UpdateFinishedTrialError:  # another worker took this one for dead and ran it again
        print(f"note: trial {trial.number} was given up by another worker (no heartbeat); its result is dropped.",
              file=sys.stderr)
