"""Interval calibration of a run: its validation windows' scores, computed once and saved."""

from __future__ import annotations

from rnnforecast import intervals
from rnnforecast.errors import UserError
from rnnforecast.forecasting.inference import prepare, validation_forecasts
from rnnforecast.runs import Run


def calibrated(
    run: Run, model=None, quantiles: list[float] | None = None, refresh: bool = False, settings=None
) -> dict:
    """The run's interval calibration: its validation windows' scores, computed and saved on first use.

    `settings` (a CalibrationConfig) replaces the run's config section, as `calibrate` does.
    """
    saved = None if refresh else intervals.load(run)
    if saved is not None:
        return saved
    validation = validation_forecasts(prepare(run), model)  # always the training file's validation part
    own = run.config.model.output.quantiles  # a quantile model is calibrated at its own quantiles
    wanted = own or quantiles or run.config.calibration.quantiles
    settings = settings or run.config.calibration
    result = intervals.calibration(
        validation.forecasts, validation.actual, wanted, validation.model_quantiles, validation.spread,
        settings.method, settings.window, settings.gamma, settings.floor,
    )
    intervals.save(run.path, result)
    return result


def calibrate_new_run(path) -> None:
    """Calibrate a just-trained single-series run's intervals now, so that predict, evaluate and plot only read it.

    Runs of older versions (without calibration.json) are still calibrated on first use.
    """
    from rnnforecast import runs

    run = runs.load(path)
    if not run.is_panel:
        calibrated(run)


def recalibrate(run: Run, quantiles: list[float], settings=None) -> dict:
    """Calibrate (again) with these quantiles and settings; only runs on one series have intervals."""
    if run.is_panel:
        raise UserError("intervals are calibrated for runs on one series; this run holds a panel (data.id_column).")
    return calibrated(run, None, quantiles, refresh=True, settings=settings)
