"""The Keras dataset of a training run: batches of windows gathered from one array, never copied."""

from __future__ import annotations

import numpy as np

from rnnforecast import data, environment
from rnnforecast.config import Config


def window_batches(
    values: np.ndarray, starts: np.ndarray, config: Config, shuffle: bool, first_epoch: int = 0,
    steps: int | None = None,
):
    """A Keras PyDataset that gathers each batch's windows when it is drawn: nothing is materialised.

    Epoch e's order depends only on (seed, e), so a resumed run draws the same batches.
    With `steps`, an epoch is at most that many batches: the first ones of a fresh
    permutation when shuffled, else the next ones in order, so that epochs take turns.
    A Python-side gather costs about 1% of a step here (benchmarks/PERFORMANCE.md), so
    this stays a PyDataset, which every Keras backend reads.
    """
    keras = environment.import_keras()

    window, n_targets, n_known = config.window, len(config.data.targets), data.n_known(config.data)
    batch_size, seed = config.training.batch_size, config.training.seed
    total = data.n_batches(len(starts), batch_size)

    class WindowBatches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.epoch = first_epoch
            self.order = self._order()

        def _order(self):
            return np.random.default_rng([seed, self.epoch]).permutation(starts) if shuffle else starts

        def __len__(self):
            return min(total, steps) if steps else total

        def __getitem__(self, i):
            if steps and not shuffle:
                i = (self.epoch * len(self) + i) % total
            chunk = self.order[i * batch_size : (i + 1) * batch_size]
            return data.gather(values, chunk, window.input_length, window.horizon, n_targets, n_known)

        def on_epoch_end(self):
            self.epoch += 1
            self.order = self._order()

    return WindowBatches()
