"""What a search leaves: trials.csv, the best config, importances, and the best config refit as a run."""

from __future__ import annotations

import copy
import warnings
from pathlib import Path

import pandas as pd
import yaml

from rnnforecast import config as config_module
from rnnforecast import runs
from rnnforecast.config import TuneConfig
from rnnforecast.tuning.study import SURPLUS

TRIAL_FACTS = ("epochs", "best_epoch", "duration_s", "worker", "reason")


def trials_frame(study, objective: str) -> pd.DataFrame:
    """One row per trial: number, state, validation score, every sampled value, epochs, time, reason."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        if t.user_attrs.get("reason") == SURPLUS or t.state.name == "WAITING":
            continue
        scores = t.user_attrs.get("scores") or {}
        complete = t.state.name == "COMPLETE"  # Optuna gives a pruned trial its last val_loss as its value
        row = {"trial": t.number, "state": t.state.name.lower(), score_column(objective): t.value if complete else None}
        row |= {score_column(k): v for k, v in scores.items() if k != objective}
        if not complete and t.intermediate_values:
            row["val_loss"] = t.intermediate_values[max(t.intermediate_values)]
        row |= dict(t.params)
        row |= {k: t.user_attrs.get(k) for k in TRIAL_FACTS}
        rows.append(row)
    frame = pd.DataFrame(rows)
    for column in frame:  # whole numbers stay whole where a failed trial left a cell empty (11, not 11.0)
        values = [row[column] for row in rows if row.get(column) is not None]
        if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            frame[column] = frame[column].astype("Int64")
    facts = [c for c in TRIAL_FACTS if c in frame]
    return frame[[c for c in frame if c not in facts] + facts]  # the sampled values before the facts


def score_column(metric: str) -> str:
    """trials.csv's name for a validation score: val_mae, val_rmse, ..., val_loss."""
    return metric if metric == "val_loss" else f"val_{metric}"


def write_outputs(study, folder: Path, tune: TuneConfig, name: str) -> dict | None:
    """trials.csv, best.yaml and search.png; returns the best trial's config (None when no trial completed)."""
    from optuna.trial import TrialState

    from rnnforecast import plotting

    frame = trials_frame(study, tune.objective)
    runs.atomic_write(folder / "trials.csv", lambda p: frame.to_csv(p, index=False))
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    importances = _importances(study) if len(complete) >= 2 else {}
    figure = plotting.search_figure(frame, score_column(tune.objective), importances, name)
    runs.atomic_write(folder / "search.png", lambda p: figure.savefig(p, format="png", dpi=110))
    if not complete:
        return None
    best = min(complete, key=lambda t: t.value)
    raw = copy.deepcopy(best.user_attrs["config"])
    raw.setdefault("run", {})["name"] = f"{name}-best"
    header = (
        f"# The best of {len(frame)} trials of the search {name}: trial {best.number}, validation {tune.objective} "
        f"{best.value:.6g}.\n# Train it with: rnnforecast train best.yaml\n"
    )
    text = header + yaml.safe_dump(raw, sort_keys=False)
    runs.atomic_write(folder / "best.yaml", lambda p: p.write_text(text))
    runs.write_json(folder / "best.json", {
        "trial": best.number, "objective": tune.objective, "value": best.value, "params": best.params,
        "scores": best.user_attrs.get("scores"), "best_epoch": best.user_attrs.get("best_epoch"),
    })
    return raw | {"_best_epoch": best.user_attrs.get("best_epoch")}


def _importances(study) -> dict[str, float]:
    """Parameter importances by Optuna's default evaluator; empty when the trials cannot support them."""
    import optuna

    try:
        with warnings.catch_warnings():  # "few trials in a regime": the plot is read with that in mind
            warnings.simplefilter("ignore")
            return dict(optuna.importance.get_param_importances(study))
    except (ValueError, RuntimeError, ZeroDivisionError):
        return {}


def refit_best(best: dict, folder: Path) -> Path:
    """The best config retrained on train+validation for its best trial's number of epochs, saved in the folder."""
    from rnnforecast import training

    raw = {k: v for k, v in best.items() if not k.startswith("_")}
    raw = copy.deepcopy(raw)
    found = best.get("_best_epoch")
    epochs = raw["training"]["epochs"] if found is None else int(found)  # 0: the untrained (fitted) start won
    raw["training"]["epochs"] = max(epochs, 1)  # the schema's least; `epochs` below is what is trained
    raw["training"]["early_stopping"] = None  # the validation windows are training windows now
    raw["run"] = {"dir": str(folder), "name": "refit"}
    config = config_module.validate(raw, source=str(folder / "best.yaml"))
    return training.train(config, folder / "best.yaml", train_on_validation=True, epochs=epochs)
