"""From a CSV file to model-ready windows: read, clean, split, scale, window.

    io.read_table -> series.load_series (select, sort, dedupe, regular grid)
                  -> windows.split_bounds (chronological train / validation / test)
                  -> preprocessing.fit_preprocessing (fill values and scaler, from the training rows only)
                  -> preprocessing.prepare (filled, scaled float32 array and a mask of usable rows)
                  -> windows.window_starts / gather (windows indexed, never copied)

No Keras here: this package is plain pandas and NumPy so that it tests fast. Its public names are
importable from `rnnforecast.data` itself.
"""

from rnnforecast.data.grid import (  # noqa: F401
    CALENDAR_PERIODS,
    calendar_features,
    cycle_length,
    cycle_phase,
    future_index,
    infer_frequency,
    season_length,
)
from rnnforecast.data.io import TIME_NAMES, detect_time_columns, is_parquet, read_table  # noqa: F401
from rnnforecast.data.parse import DATE_PARTS  # noqa: F401
from rnnforecast.data.preprocessing import (  # noqa: F401
    exact_targets, FAR_ADVICE, far_from_training, far_note, fit_preprocessing, floored, known_future, lowest, prepare, scaled_floors, static_scaling,
    FloorBroken, target_floors, target_values, unscale,
)
from rnnforecast.data.series import (  # noqa: F401
    Series, empty_series_note, id_examples, id_keys, load_panel, load_series, read_once, table_to_series, time_columns_of,
    time_text,
)
from rnnforecast.data.windows import (  # noqa: F401
    Bounds,
    default_input_length,
    default_segments,
    FORECAST_SHARE,
    panel_input_cap,
    gather,
    n_batches,
    n_known,
    part_starts,
    split_bounds,
    split_rows,
    window_starts,
)
