"""`rnnforecast tune`: search a config's hyperparameters with Optuna, scored on the validation windows.

The study lives in Optuna's storage: by default a journal file inside the (hidden,
until finished) run folder, so that a killed search resumes; with `--storage` a database
that any number of workers, on one machine or many, share. Every trial goes through the
training path of `rnnforecast train` (prepare_data, build, fit); the test windows are
never looked at. The number of trials is a study-wide total, counted in the storage.

    search.tune -> space.parse_space -> study.open_study -> workers.work -> trials.run_trial
                -> outputs.write_outputs (and outputs.refit_best: the best config trained as a run)

"""

from rnnforecast.tuning.outputs import TRIAL_FACTS, refit_best, score_column, trials_frame, write_outputs  # noqa: F401
from rnnforecast.tuning.search import TUNE_FILE, tune  # noqa: F401
from rnnforecast.tuning.space import LAYER_KEY, N_LAYERS, Dimension, check_space, configure, parse_space, sample  # noqa: F401
from rnnforecast.tuning.study import (  # noqa: F401
    HEARTBEAT_S,
    INTERRUPTED,
    STALE_S,
    STUDY_FILE,
    SURPLUS,
    counted,
    finished,
    heartbeat,
    open_study,
    recover_interrupted,
)
from rnnforecast.tuning.trials import run_trial, validation_scores  # noqa: F401
from rnnforecast.tuning.workers import progress_bar, run_workers, work  # noqa: F401
