"""The model: its factory (`factory`), its own Keras layers (`layers`) and losses (`losses`).

Importing this package registers every custom layer and loss, so a saved model loads.
"""

from rnnforecast.models.factory import (  # noqa: F401
    GATES,
    RECURRENT_LAYERS,
    build_model,
    leaves_cudnn,
    training_memory,
)
from rnnforecast.models.layers import (  # noqa: F401
    AddHighway,
    AddReference,
    BatchReshape,
    CyclePattern,
    Highway,
    MemberMean,
    MonotoneQuantiles,
    RepeatRows,
    SegmentQueries,
    WindowNormalization,
    seasonal_naive_map,
)
from rnnforecast.models.losses import EnsembleLoss, PinballLoss  # noqa: F401
