"""`window.input_length: auto` (or a list): the look-back chosen by short probes on the validation windows.

Which look-back forecasts best depends on the data more than on any rule: the long-horizon
tables move by several percent between 96 and 720 steps. Each candidate is trained briefly
(PROBE_EPOCHS epochs of at most PROBE_STEPS batches, a fresh sample of windows each epoch,
the run's seed) and scored by its best validation loss. Every candidate's validation
windows forecast the same target rows (a window's input may reach back into the training
rows), so the losses compare like with like.
"""

from __future__ import annotations

import sys

import numpy as np

from rnnforecast import data, environment
from rnnforecast.config import Config
from rnnforecast.errors import UserError

PROBE_EPOCHS = 3
PROBE_STEPS = 100  # batches per probe epoch
AUTO_SPANS = (1, 2, 4, 8)  # `auto`: this many seasons or horizons, whichever is longer


def candidates(config: Config, panel: dict[str, data.Series]) -> list[int]:
    """The look-backs to probe: the config's list, or for `auto` 1, 2, 4 and 8 seasons (or horizons).

    `auto`'s candidates are shortened to what the typical series' training part holds (and,
    for a panel, to what most series hold), as the derived look-back is; a list is taken as given.
    """
    given = config.window.input_length
    if isinstance(given, list):
        return list(given)
    from rnnforecast.training.inputs import typical_training_rows

    some = next(iter(panel.values()))
    season = config.data.season_length or data.season_length(some.frequency)
    horizon = config.window.horizon
    longest = max(1, typical_training_rows(config, panel) - horizon)
    span = max(season, horizon)
    if len(panel) > 1:
        longest = min(longest, data.panel_input_cap([len(series.frame) for series in panel.values()],
                                                    min(longest, span)))
    return sorted({min(k * span, longest) for k in AUTO_SPANS})


def _shaped(config: Config, length: int, derived: bool) -> Config:
    """A copy of the config with this look-back, segmented as a derived one would be (`derived`)."""
    from rnnforecast.training.inputs import derived_segments

    probe = config.model_copy(deep=True)
    if derived or config.model.segment_length is not None:  # a listed candidate is read as given
        length, probe.model.segment_length = derived_segments(config, length)
    probe.window.input_length = length
    return probe


def choose_input_length(config: Config, panel: dict[str, data.Series]) -> dict:
    """Probe each candidate, set the config's look-back (and segments) to the best; return the record.

    The record (saved in metadata.json as `input_length_search`) lists each candidate's
    probe validation loss, or why it could not be probed (a look-back the split cannot hold).
    """
    from rnnforecast.training.compile import build
    from rnnforecast.training.fitting import fit
    from rnnforecast.training.inputs import prepare_data

    keras = environment.import_keras()
    derived = config.window.input_length == "auto"
    found = candidates(config, panel)
    losses, refused, shapes = {}, {}, {}
    for i, length in enumerate(found, 1):
        probe = _shaped(config, length, derived)
        probe.training.epochs = min(config.training.epochs, PROBE_EPOCHS)
        probe.training.steps_per_epoch = min(config.training.steps_per_epoch or PROBE_STEPS, PROBE_STEPS)
        probe.training.refit = False
        L = probe.window.input_length
        print(f"window.input_length: probing {L} ({i} of {len(found)})", file=sys.stderr, flush=True)
        try:
            prepared = prepare_data(probe, panel)
        except UserError as exc:
            refused[str(L)] = str(exc)
            continue
        model = build(probe, len(prepared.series.columns), prepared.prep["season_length"],
                      train_windows=len(prepared.starts["train"]))
        history = fit(model, prepared, probe, verbose=0)
        scores = [*history.history["val_loss"], history.initial_val_loss]
        losses[L] = float(np.nanmin([np.nan if s is None else s for s in scores]))
        shapes[L] = probe.model.segment_length
        keras.backend.clear_session()
    if not losses:
        raise UserError(
            f"window.input_length: none of the look-backs {', '.join(map(str, found))} fits the data's split: "
            + "; ".join(f"{k}: {v}" for k, v in refused.items())[:600]
            + ". Give shorter candidates, a number, or change data.split."
        )
    chosen = min(losses, key=losses.get)
    config.window.input_length, config.model.segment_length = chosen, shapes[chosen]
    return {
        "given": "auto" if derived else found,
        "chosen": chosen,
        "segment_length": shapes[chosen],
        "probe_val_loss": {str(k): round(v, 6) for k, v in losses.items()},
        "refused": refused,
        "probe": {"epochs": min(config.training.epochs, PROBE_EPOCHS), "steps_per_epoch":
                  min(config.training.steps_per_epoch or PROBE_STEPS, PROBE_STEPS)},
    }


def describe(record: dict) -> str:
    """One line for the log: what was chosen, and why."""
    losses = ", ".join(f"{k}: {v:.4g}" for k, v in record["probe_val_loss"].items())
    skipped = f"; {', '.join(record['refused'])} did not fit the split" if record["refused"] else ""
    return (f"window.input_length {record['given'] if record['given'] == 'auto' else 'of ' + str(record['given'])} "
            f"chose {record['chosen']}: the lowest validation loss of short probes ({losses}){skipped}")
