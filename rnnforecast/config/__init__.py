"""The config: its typed schema, YAML loading with `--set` overrides, and readable errors.

    loading.load_config (read_yaml, apply_override) -> schema.Config (validated) -> loading.dump

Its public names are importable from `rnnforecast.config` itself.
"""

from rnnforecast.config.loading import apply_override, dump, load_config, read_yaml, resolve_path, set_path, validate  # noqa: F401
from rnnforecast.config.messages import describe_error  # noqa: F401
from rnnforecast.config.schema import (  # noqa: F401
    Activation,
    CalendarFeature,
    CalibrationConfig,
    CalibrationMethod,
    CellType,
    Column,
    Config,
    DataConfig,
    DecoderType,
    DuplicatePolicy,
    EarlyStoppingConfig,
    Float,
    Fraction,
    Int,
    LayerConfig,
    LossName,
    LRDecayConfig,
    MissingPolicy,
    ModelConfig,
    Objective,
    OptimizerConfig,
    OptimizerName,
    OutputConfig,
    PosInt,
    Precision,
    PrunerName,
    Rate,
    ReduceLRConfig,
    RunConfig,
    Scaling,
    Section,
    SplitConfig,
    Str,
    TrainingConfig,
    TuneConfig,
    WindowConfig,
    WindowNorm,
    calibration_settings,
    parse_quantiles,
)
