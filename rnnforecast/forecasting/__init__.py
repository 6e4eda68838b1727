"""Forecasting with a trained run: inference, the baselines, scoring, calibration, the future.

    inference.prepare (the run's data as in training) -> inference.window_forecasts (model and baselines)
      -> evaluation.evaluate (evaluation.score_forecasts: the one scorer; classical: AutoETS, AutoTheta) / evaluation.evaluate_run (panels)
      -> future.forecast_run (the final model's forecast after the last row, calibrated intervals)

Shared by `predict`, `evaluate`, `plot`, `backtest` and `tune`. New data (`--data`) goes through the
preprocessing fitted at training time, never a refit. Its public names are importable from
`rnnforecast.forecasting` itself.
"""

from rnnforecast.forecasting import classical, combination  # noqa: F401
from rnnforecast.forecasting.baselines import baseline_forecasts  # noqa: F401
from rnnforecast.forecasting.calibration import (  # noqa: F401
    calibrated,
    finish_new_run,
    calibrated_panel,
    pooled_calibration,
    recalibrate,
    recalibration_notes,
    stacked_forecasts,
)
from rnnforecast.forecasting.evaluation import (  # noqa: F401
    evaluate,
    evaluate_run,
    filled_targets_note,
    panel_report,
    panel_summary,
    score_forecasts,
    series_reports,
    test_path,
)
from rnnforecast.forecasting.future import (  # noqa: F401
    backtest_notes,
    below_zero_notes,
    describe_forecast,
    forecast_run,
    future,
    future_offsets,
    future_quantiles,
    future_spread,
    models_for_future,
    panel_future,
    panel_table,
    single_future,
    with_quantiles,
)
from rnnforecast.forecasting.inference import (  # noqa: F401
    PREDICT_CHUNK,
    PREDICT_STEPS,
    Prepared,
    TestForecasts,
    load_panel_of,
    point_of,
    predict_scaled,
    predict_stacked,
    prepare,
    prepare_panel,
    reading_notes,
    spread,
    test_forecasts,
    unscale_quantiles,
    validation_forecasts,
    window_forecasts,
)
