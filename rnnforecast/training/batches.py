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
    The epoch is counted from the draws themselves (index 0 after the epoch's last index
    starts the next), not from `on_epoch_end`: Keras calls that once before the first epoch
    and after creating (and prefetching from) the next epoch's iterator, so an order swapped
    there shifted every epoch by one and split the first batches between two orders. Fit
    with `shuffle=False`: Keras's own shuffle of the batch indices draws from Python's global
    random state, which a resumed process does not share.
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
            self.last = None  # the index drawn last

        def _order(self):
            return np.random.default_rng([seed, self.epoch]).permutation(starts) if shuffle else starts

        def __len__(self):
            return min(total, steps) if steps else total

        def __getitem__(self, i):
            if i == 0 and self.last == len(self) - 1:  # the epoch's last batch was drawn: a new epoch starts
                self.epoch += 1
                self.order = self._order()
            self.last = i
            if steps and not shuffle:
                i = (self.epoch * len(self) + i) % total
            chunk = self.order[i * batch_size : (i + 1) * batch_size]
            return data.gather(values, chunk, window.input_length, window.horizon, n_targets, n_known)

    return WindowBatches()
