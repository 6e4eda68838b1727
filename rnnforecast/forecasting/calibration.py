"""Interval calibration of a run: its validation windows' scores, computed once and saved."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnforecast import data, intervals
from rnnforecast.errors import UserError
from rnnforecast.forecasting.inference import point_of, predict_stacked, prepare, prepare_panel, validation_forecasts
from rnnforecast.runs import Run


def calibrated(
    run: Run, model=None, quantiles: list[float] | None = None, refresh: bool = False, settings=None, validation=None
) -> dict:
    """The run's interval calibration: its validation windows' scores, computed and saved on first use.

    `settings` (a CalibrationConfig) replaces the run's config section, as `calibrate` does. `validation`:
    the model's validation forecasts when the caller has them (a new run's combination reads them too).
    """
    saved = None if refresh else intervals.load(run)
    if saved is not None:
        return saved
    if not refresh:
        _say_half_missing(run)
    if validation is None:
        validation = validation_forecasts(prepare(run), model)  # always the training file's validation part
    own = run.config.model.output.quantiles  # a quantile model is calibrated at its own quantiles
    wanted = own or quantiles or run.config.calibration.quantiles
    settings = settings or run.config.calibration
    result = intervals.calibration(
        validation.forecasts, validation.actual, wanted, validation.model_quantiles, validation.spread,
        settings.method, settings.window, settings.gamma, settings.floor,
    )
    _keep(run, result, refresh)
    return result


def _say_half_missing(run: Run) -> None:
    """A note when one of the calibration's two files is gone: it is computed again with the config's settings,
    which are not those of a `calibrate` run since (its quantiles, method) unless it is run again."""
    import sys

    files = (run.path / intervals.CALIBRATION_FILE, run.path / intervals.SCORES_FILE)
    gone = [path.name for path in files if not path.exists()]
    if len(gone) == 1:
        print(f"note: {gone[0]} is missing from {run.path.name}: its intervals are calibrated again from the "
              "validation windows with the config's calibration settings. If you had recalibrated them with "
              f"`rnnforecast calibrate`, run it again.", file=sys.stderr)


def _keep(run: Run, result: dict, refresh: bool) -> None:
    """Save a calibration computed on first use, so that later commands read it.

    Reading a run must not need to write to it: in a folder that cannot be written (read-only, another
    user's) the calibration is used in memory and computed again next time. `calibrate` (refresh) is
    asked to save it, and says so when it cannot.
    """
    from rnnforecast import runs

    try:
        intervals.save(run.path, result)
    except OSError as exc:
        if refresh or not runs.unwritable(exc):
            raise


def finish_new_run(path) -> list[str]:
    """Calibrate a just-trained run's intervals now and choose its combination, so that predict, evaluate and plot
    only read them; returns notes for the user (too few validation windows, the mix chosen).

    One series' validation forecasts are computed once, with the data read and the model loaded once, for both
    (the file read twice was the peak of a 1,000,000-row run's memory: benchmarks/PERFORMANCE.md, section 26).
    Runs of older versions (without calibration.json) are still calibrated on first use.
    """
    from rnnforecast import runs
    from rnnforecast.forecasting import combination

    run = runs.load(path)
    model = run.load_model()
    if run.is_panel:
        result = calibrated_panel(run, model)
        chosen = combination.choose_new_run(run, model)
    else:
        prepared = prepare(run)
        validation = validation_forecasts(prepared, model)
        result = calibrated(run, model, validation=validation)
        chosen = combination.choose_new_run(run, model, prepared, validation)
    _record_combination(run)
    return [note for note in [intervals.too_few_windows(result)] if note] + chosen


def _record_combination(run: Run) -> None:
    """metadata.json records the mix just chosen, so that a combination.json deleted later is refused as damage
    rather than forecast as the network alone without a word (runs of older versions, backtests and tune's
    refits record none: for them a missing combination.json is the network alone, as before)."""
    from rnnforecast import runs
    from rnnforecast.forecasting import combination

    found = combination.load(run)
    run.metadata["combination"] = found["chosen"] if found else "none"
    runs.write_json(run.path / "metadata.json", run.metadata)


def recalibrate(run: Run, quantiles: list[float], settings=None, asked: dict | None = None) -> dict:
    """Calibrate (again) with these quantiles and settings, on the validation rows of the training file as it was.

    `asked`: the settings the user gave on the command line; one a panel has no use for is refused, not ignored.
    """
    from rnnforecast import runs

    if runs.data_to_read(run, None)[0] is not None:
        raise UserError(
            f"{Path(run.config.data.path).name} has changed since {run.path.name} was trained (its SHA-256 differs "
            "from metadata.json's), so its validation rows are no longer the ones the run split off. Put the file "
            "back as it was to calibrate again, or train a new run on the file as it is."
        )
    if run.is_panel:
        given = [f"--{key} {value}" for key, value in (asked or {}).items() if value is not None and value != "split"]
        if given:
            raise UserError(
                f"{', '.join(given)} {'is' if len(given) == 1 else 'are'} for one series: a panel's intervals are "
                "calibrated by split conformal on the validation windows of all its series pooled (they have no one "
                "time order to roll along). Leave the option out, or give --method split."
            )
        return calibrated_panel(run, None, quantiles, refresh=True)
    return calibrated(run, None, quantiles, refresh=True, settings=settings)


def recalibration_notes(result: dict, asked: dict) -> list[str]:
    """What `calibrate` tells the user about the calibration it made: too few windows, a --window it could not use."""
    notes = [note for note in [intervals.too_few_windows(result)] if note]
    if result.get("pooled_steps") and asked.get("window") is not None:
        notes.append(f"--window {asked['window']} is not used: with {result['windows']} validation window(s) each "
                     "step's errors are too few for its own quantiles, so every step's come from all steps' errors "
                     "together, all of them kept.")
    return notes


def calibrated_panel(run: Run, model=None, quantiles: list[float] | None = None, refresh: bool = False) -> dict:
    """A panel's interval calibration: the validation windows of every trained series, pooled (split conformal).

    Scores are in each series' scaled units divided by the window's spread, so one pool serves
    series of any level; a series' interval is its offsets times the spread of its own window,
    in its own units. The pool is the honest model's errors, as for one series; the rolling and
    adaptive methods are for one series (a panel's windows have no one time order).
    """
    saved = None if refresh else intervals.load(run)
    if saved is not None:
        return saved
    model = model or run.load_model()
    prepared = prepare_panel(run)  # the trained series of the training file
    L, H = run.config.window.input_length, run.config.window.horizon
    windows = [(p.values, data.window_starts(p.valid, L, H, p.run.prep["train_end"], p.run.prep["val_end"]))
               for p in prepared.values()]
    result = pooled_calibration(model, run.config, windows, len(run.prep["targets"]), quantiles)
    if result is None:
        raise UserError(f"{run.path.name} has no validation window in any series to calibrate intervals on. "
                        "Give the series more history, or set data.split so that validation holds a window.")
    _keep(run, result, refresh)
    return result


def pooled_calibration(model, config, windows: list[tuple[np.ndarray, np.ndarray]], n_targets: int,
                       quantiles: list[float] | None = None) -> dict | None:
    """Split conformal calibration of the model on many series' windows pooled; None when there is no window.

    `windows`: each series' prepared values and the starts of its validation windows (the panel's own
    calibration, and a panel backtest's, which calibrates the model it trained on the same windows).
    """
    output, actual, spread = stacked_forecasts(model, [w for w in windows if len(w[1])], config, n_targets)
    if not len(actual):
        return None
    point, own = point_of(config.model.output.quantiles, output)
    wanted = config.model.output.quantiles or quantiles or config.calibration.quantiles
    return intervals.calibration({"model": point}, actual, wanted, own, spread)


def stacked_forecasts(model, windows: list[tuple[np.ndarray, np.ndarray]], config, n: int):
    """(model output, actual targets, spread), scaled units, for windows of many series predicted together.

    `windows`: each series' prepared values and the starts of its windows; `n`: the number of targets.
    The spread is each window's std of its input rows, floored at 0.01 (a hundredth of the series'
    training std), as for one series.
    """
    if not windows:
        return np.empty((0,)), np.empty((0,)), np.empty((0,))
    L, H = config.window.input_length, config.window.horizon
    n_known = data.n_known(config.data)
    history = np.concatenate([values[s[:, None] + np.arange(L)] for values, s in windows])
    known = (np.concatenate([values[s[:, None] + L + np.arange(H)][:, :, -n_known:] for values, s in windows])
             if n_known else None)
    actual = np.concatenate([values[s[:, None] + L + np.arange(H)][:, :, :n] for values, s in windows])
    output = predict_stacked(model, history, known)
    spread = np.maximum(history[:, :, :n].std(axis=1, keepdims=True), 0.01)
    return output, actual, spread
