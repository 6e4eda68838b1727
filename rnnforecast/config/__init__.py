"""The config: its typed schema, YAML loading with `--set` overrides, and readable errors.

    loading.load_config (read_yaml, apply_override) -> schema.Config (validated) -> loading.dump

Its public names are importable from `rnnforecast.config` itself.
"""

from rnnforecast.config.loading import (  # noqa: F401
    MAX_CONFIG_BYTES,
    MAX_CONFIG_VALUES,
    apply_override,
    dump,
    search_base,
    load_config,
    read_yaml,
    resolve_path,
    set_path,
    validate,
)
from rnnforecast.config.messages import describe_error  # noqa: F401
from rnnforecast.config.schema import (  # noqa: F401
    CalibrationConfig,
    Config,
    DataConfig,
    EarlyStoppingConfig,
    LayerConfig,
    LRDecayConfig,
    ModelConfig,
    Objective,
    OptimizerConfig,
    OutputConfig,
    PrunerName,
    ReduceLRConfig,
    RunConfig,
    SplitConfig,
    TrainingConfig,
    TuneConfig,
    WindowConfig,
    calibration_settings,
    check_model_quantiles,
    parse_quantiles,
)
from rnnforecast.config.types import (  # noqa: F401
    Activation,
    CalendarFeature,
    CalibrationMethod,
    CellType,
    Column,
    DecoderType,
    DuplicatePolicy,
    Float,
    Fraction,
    Int,
    LossName,
    MissingPolicy,
    OptimizerName,
    PosInt,
    Precision,
    Rate,
    Scaling,
    Section,
    Str,
    WindowNorm,
)
