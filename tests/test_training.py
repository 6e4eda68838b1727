"""Training on awkward series, and what the saved run holds."""

import json
import os
import signal
import time

import numpy as np
import pandas as pd
import pytest

from rnnforecast import config, data, forecasting, runs, training
from tests.conftest import DATA, tiny_config


def _series_config(tmp_path, values, **sections):
    path = tmp_path / "s.csv"
    pd.DataFrame({"Date": pd.date_range("2020-01-01", periods=len(values), freq="D"), "Temp": values}).to_csv(path, index=False)
    raw = tiny_config(path, run={"dir": str(tmp_path / "runs")}, **sections)
    return config.validate(raw)


@pytest.mark.parametrize(
    "kind",
    ["constant", "huge", "spike", "negative-tiny"],
)
def test_degenerate_series_train_and_forecast_finite_numbers(tmp_path, kind):
    n = 200
    values = {
        "constant": np.full(n, 5.0),
        "huge": 1e9 + 1e7 * np.sin(np.arange(n) / 5),
        "spike": np.where(np.arange(n) == 120, 1e6, 1.0),
        "negative-tiny": -1e-9 * (1 + np.arange(n) % 7),
    }[kind]
    cfg = _series_config(tmp_path, values)
    run = runs.load(training.train(cfg, verbose=0))
    prepared = forecasting.prepare(run)
    future = forecasting.future(prepared)
    assert np.isfinite(future.to_numpy()).all()
    report = forecasting.evaluate(prepared)
    assert np.isfinite(report["original"]["model"]["overall"]["mae"])
    if kind == "constant":
        assert future.to_numpy() == pytest.approx(5.0, abs=0.5)


def test_a_launch_whose_training_rows_never_change_is_named_before_training(tmp_path):
    """Zeros until a launch, then sales: the honest model saw only zeros (a loss of 0, intervals 30 wide on 0 to 12)."""
    values = np.zeros(400)
    values[320:] = 5 + np.arange(80) % 7
    found = training.prepare_data(_series_config(tmp_path, values))
    (note,) = [n for n in found.notes if "never changes" in n]
    assert "'Temp' never changes over its 280 training rows (every value 0, up to 2020-10-06)" in note
    assert "remove the rows before its start" in note
    values[100] = 1.0  # one change in the training rows: nothing to say
    assert not [n for n in training.prepare_data(_series_config(tmp_path, values)).notes if "never changes" in n]
    constant = np.full(400, 5.0)  # constant throughout: forecast as that value, nothing to warn of
    assert not [n for n in training.prepare_data(_series_config(tmp_path, constant)).notes if "never changes" in n]


@pytest.mark.parametrize(("ensemble", "highway"), [(1, "seasonal"), (2, "seasonal"), (1, "fitted")])
def test_saved_model_has_the_best_validation_weights(tmp_path, ensemble, highway):
    """Validation scores the forecast itself: with an ensemble, the members' mean (trained per member).

    The untrained model is a candidate too: with the seasonal start some epoch beats it here, with the
    fitted start none does, and the saved model is then the start itself.
    """
    raw = tiny_config(DATA / "daily-min-temperatures.csv", run={"dir": str(tmp_path)},
                      training={"epochs": 4, "optimizer": {"learning_rate": 0.05}, "reduce_lr": None,
                                "early_stopping": {"patience": 10}, "loss": "mae"})
    raw["model"]["ensemble"] = ensemble
    raw["model"]["highway"] = highway
    cfg = config.validate(raw)
    run = runs.load(training.train(cfg, verbose=0))
    prepared = training.prepare_data(cfg)
    model = run.load_model()
    x, y = data.gather(prepared.values, prepared.starts["val"], 14, 7, 1)
    val_loss = float(np.mean(np.abs(np.asarray(model.predict(x, verbose=0)) - y)))  # the loss trained on: MAE
    best = run.metadata["best_val_loss"]
    assert val_loss == pytest.approx(best, rel=1e-3)
    epochs_won = run.metadata["best_epoch"] > 0
    assert epochs_won == (highway == "seasonal")
    if epochs_won:
        assert best == pytest.approx(run.history["val_loss"].min(), rel=1e-6)


def test_metadata_records_where_and_what(tmp_path):
    cfg = config.validate(tiny_config(DATA / "daily-min-temperatures.csv", run={"dir": str(tmp_path)}))
    run = runs.load(training.train(cfg, verbose=0))
    meta = run.metadata
    assert meta["backend"] and meta["device"] and meta["keras"] and meta["seed"] == 1
    assert meta["xla"] is False  # a GRU over 14 steps: the compile would not pay
    assert meta["data_sha256"] == runs.sha256(DATA / "daily-min-temperatures.csv")
    assert meta["windows"]["train"] == json.loads((run.path / "preprocessing.json").read_text())["train_end"] - 21 + 1
    assert meta["started"] <= meta["finished"]


def test_changed_model_file_is_refused(tmp_path):
    cfg = config.validate(tiny_config(DATA / "daily-min-temperatures.csv", run={"dir": str(tmp_path)}))
    run = runs.load(training.train(cfg, verbose=0))
    with open(run.path / "model.keras", "ab") as handle:
        handle.write(b"tampered")
    with pytest.raises(Exception, match="has changed since training"):
        run.load_model()


def test_truncated_model_file_is_reported(tmp_path):
    cfg = config.validate(tiny_config(DATA / "daily-min-temperatures.csv", run={"dir": str(tmp_path)}))
    path = training.train(cfg, verbose=0)
    model = path / "model.keras"
    model.write_bytes(model.read_bytes()[:500])
    meta = json.loads((path / "metadata.json").read_text())
    meta["model_sha256"] = runs.sha256(model)
    (path / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(Exception, match="could not be loaded"):
        runs.load(path).load_model()


def test_window_batches_cover_every_training_window_once_per_epoch(tmp_path):
    cfg = config.validate(tiny_config(DATA / "daily-min-temperatures.csv", training={"batch_size": 100}))
    prepared = training.prepare_data(cfg)
    batches = training.window_batches(prepared.values, prepared.starts["train"], cfg, shuffle=True)
    firsts = np.concatenate([batches[i][0][:, 0, 0] for i in range(len(batches))])
    expected = prepared.values[prepared.starts["train"], 0]
    assert sorted(firsts.tolist()) == sorted(expected.tolist())
    order = batches.order.copy()
    batches[0]  # as Keras draws the next epoch: index 0 after the last one
    assert not np.array_equal(order, batches.order)  # reshuffled each epoch
    assert np.array_equal(batches.order, np.random.default_rng([cfg.training.seed, 1]).permutation(prepared.starts["train"]))


def test_lr_decay_holds_then_shrinks_every_epoch(tmp_path):
    raw = tiny_config(DATA / "daily-min-temperatures.csv", run={"dir": str(tmp_path)},
                      training={"epochs": 4, "optimizer": {"learning_rate": 0.01}, "early_stopping": None,
                                "lr_decay": {"after": 1, "factor": 0.5}})
    cfg = config.validate(raw)
    assert cfg.training.reduce_lr is None  # the default plateau schedule gives way
    run = runs.load(training.train(cfg, verbose=0))
    assert run.history["learning_rate"].tolist() == pytest.approx([0.01, 0.01, 0.005, 0.0025])


def test_runs_started_in_the_same_second_get_different_folders(tmp_path):
    first = runs.new_run_path(tmp_path, "seed", claim=True)
    second = runs.new_run_path(tmp_path, "seed", claim=True)  # two seeds launched together
    assert first != second
    assert runs.partial_path(first).is_dir() and runs.partial_path(second).is_dir()


@pytest.mark.parametrize(("name", "keras_class"), [("adamw", "AdamW"), ("rmsprop", "RMSprop"), ("sgd", "SGD")])
def test_each_optimizer_is_built_with_its_settings(name, keras_class):
    raw = tiny_config(DATA, training={"optimizer": {"name": name, "learning_rate": 0.02, "clipnorm": 1.5,
                                                    "weight_decay": 0.01 if name == "adamw" else 0.0}})
    optimizer = training.optimizer_for(config.validate(raw))
    assert type(optimizer).__name__ == keras_class
    assert float(optimizer.learning_rate) == pytest.approx(0.02) and optimizer.clipnorm == 1.5
    if name == "adamw":
        assert optimizer.weight_decay == pytest.approx(0.01)


def test_a_cycle_run_forecasts_from_the_positions_of_its_timestamps(tmp_path):
    """model.cycle: the saved run adds the position column again when it forecasts, from the file's times."""
    raw = tiny_config(DATA / "ETTh1-head2000.csv", run={"dir": str(tmp_path)}, data={"targets": ["OT"]},
                      window={"input_length": 48, "horizon": 24}, model={"cycle": True, "segment_length": 12})
    run = runs.load(training.train(config.validate(raw), verbose=0))
    assert run.prep["cycle"] == 24
    prepared = forecasting.prepare(run)
    last = prepared.series.index[-1]
    assert prepared.values.shape[1] == 2 and prepared.values[-1, 1] == last.hour
    x = prepared.values[None, -48:]
    expected = data.unscale(np.asarray(run.load_model()(x))[0], run.prep)
    future = forecasting.future(prepared)
    np.testing.assert_allclose(future.to_numpy()[:, 0], expected[:, 0], rtol=1e-5)
    assert future.index[0] == last + pd.Timedelta(hours=1)
    report = forecasting.evaluate(prepared)
    assert np.isfinite(report["original"]["model"]["overall"]["mae"])


@pytest.mark.parametrize("kind", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_after_the_last_batch_stops_the_run_when_the_block_ends(kind):
    # one that landed while the last epoch's checkpoint was written only set the flag, which no batch read: the run
    # went on through the final model and exited 0
    from rnnforecast.training import interrupts_between_batches

    before = signal.getsignal(kind)
    with interrupts_between_batches():
        pass  # nothing pressed: the block ends as usual
    with pytest.raises(KeyboardInterrupt):
        with interrupts_between_batches() as interrupted:
            os.kill(os.getpid(), kind)
            for _ in range(100):
                if interrupted.is_set():
                    break
                time.sleep(0.01)
            assert interrupted.is_set()
    assert signal.getsignal(kind) is before


def test_future_features_missing_on_a_step_to_forecast_are_said_at_train_time(tmp_path):
    """train said only that a gap was filled; predict then refused, naming the step."""
    days = pd.date_range("2021-01-01", periods=80, freq="D")
    frame = pd.DataFrame({"date": days, "y": np.sin(np.arange(80) / 3) + 5, "promo": np.arange(80) % 2})
    frame.loc[73:, "y"] = np.nan  # the last 7 rows give the future's promo
    frame = frame.drop(index=75)  # one of those rows left out
    frame.to_csv(tmp_path / "f.csv", index=False)
    cfg = config.validate({"data": {"path": str(tmp_path / "f.csv"), "targets": ["y"], "future_features": ["promo"]},
                           "window": {"input_length": 7, "horizon": 7}, "model": {"type": "gru", "layers": [{"units": 4}]}})
    notes = training.prepare_data(cfg).notes
    assert [n for n in notes if "does not give the future features (promo)" in n and "2021-03-17" in n
            and "`predict` refuses" in n]
