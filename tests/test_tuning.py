"""`rnnforecast tune` on a small real series: the search, failed trials, resume, workers, PostgreSQL."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from rnnforecast import config as config_module
from rnnforecast import tuning
from rnnforecast.cli import app
from rnnforecast.errors import UserError

DATA = Path(__file__).parent / "data" / "airline-passengers.csv"
runner = CliRunner()


def search_config(tmp_path: Path, trials: int = 3, **tune) -> dict:
    """A search that trains in a second or two per trial: monthly airline passengers, tiny models, one epoch."""
    return {
        "data": {"path": str(DATA), "time_column": "Month", "targets": ["Passengers"]},
        "window": {"input_length": 12, "horizon": 3},
        "model": {"type": "simple_rnn", "layers": [{"units": 4}]},
        "training": {"epochs": 1, "batch_size": 32, "seed": 1},
        "run": {"dir": str(tmp_path / "runs")},
        "tune": {
            "trials": trials,
            "space": {
                "model.type": ["simple_rnn", "lstm"],
                "model.n_layers": [1, 2],
                "model.layers[1].units": {"int": [2, 6]},
                "training.optimizer.learning_rate": {"float": [1e-3, 1e-2], "log": True},
            },
        }
        | tune,
    }


def write(tmp_path: Path, raw: dict, name: str = "search.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def cli(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run([sys.executable, "-m", "rnnforecast.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def finished_trials(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["state"].isin(["complete", "pruned", "fail"]) & ~frame["reason"].fillna("").str.startswith("interrupted")]


@pytest.mark.slow
def test_tiny_search_end_to_end_writes_every_output(tmp_path):
    result = runner.invoke(app, ["tune", str(write(tmp_path, search_config(tmp_path))), "--refit"])
    assert result.exit_code == 0, result.output
    folder = Path(result.stdout.strip().splitlines()[-1])
    assert folder.is_dir() and not list(folder.parent.glob(".*partial"))
    trials = pd.read_csv(folder / "trials.csv")
    assert list(trials["trial"]) == [0, 1, 2]
    assert set(trials["state"]) <= {"complete", "pruned"}
    assert {"val_mae", "val_rmse", "val_mase", "val_loss", "model.type", "training.optimizer.learning_rate"} <= set(trials)
    # a trial without a second layer does not draw that layer's units
    one_layer = trials["model.n_layers"] == 1
    assert trials.loc[one_layer, "model.layers[1].units"].isna().all()
    assert trials.loc[~one_layer, "model.layers[1].units"].between(2, 6).all()
    # best.yaml is a ready config: the best trial's values, no tune section, and it validates
    best_row = trials.loc[trials["val_mae"].idxmin()]
    raw = yaml.safe_load((folder / "best.yaml").read_text())
    assert "tune" not in raw
    best = config_module.validate(raw)
    assert best.model.type == best_row["model.type"] and len(best.model.layers) == best_row["model.n_layers"]
    assert best.training.optimizer.learning_rate == pytest.approx(best_row["training.optimizer.learning_rate"])
    assert (folder / "search.png").stat().st_size > 10_000
    # the refit trained on the training and validation windows; evaluate reads it like any run
    (refit,) = folder.glob("refit-*")
    meta = yaml.safe_load((refit / "metadata.json").read_text())
    assert meta["trained_on"] == "train+validation"
    assert meta["windows"]["train"] > 0
    evaluated = runner.invoke(app, ["evaluate", str(refit), "--format", "json"])
    assert evaluated.exit_code == 0, evaluated.output
    # --resume on the finished search, and on a training run's folder (the refit), says which it is
    again = runner.invoke(app, ["tune", "--resume", str(folder)])
    assert again.exit_code == 2 and "already complete" in again.stderr
    wrong = runner.invoke(app, ["tune", "--resume", str(refit)])
    assert wrong.exit_code == 2 and "is a training run's folder, not a search's" in wrong.stderr
    assert "rnnforecast train --resume" in wrong.stderr
    # predict on the search's folder names what to use instead
    searched = runner.invoke(app, ["predict", str(folder)])
    assert searched.exit_code == 2 and "is a search's folder" in searched.stderr
    assert f"the run refit on it is {refit}" in " ".join(searched.stderr.split())


def test_the_objective_is_scored_on_the_validation_windows_not_the_test(tmp_path):
    """Retrain the best config and score its validation windows the same way: the numbers agree."""
    from rnnforecast import forecasting, metrics, runs, training

    raw = search_config(tmp_path, trials=1)
    raw["tune"]["space"] = {"model.layers[0].units": [3]}
    result = runner.invoke(app, ["tune", str(write(tmp_path, raw))])
    assert result.exit_code == 0, result.output
    folder = Path(result.stdout.strip().splitlines()[-1])
    reported = pd.read_csv(folder / "trials.csv")["val_mae"].iloc[0]
    config = config_module.load_config(folder / "best.yaml")
    prepared = training.prepare_data(config)
    model = training.build(config, len(prepared.series.columns), prepared.prep["season_length"])
    training.fit(model, prepared, config, verbose=0)
    scores = tuning.validation_scores(config, prepared.prep, model)
    assert scores["mae"] == pytest.approx(reported, rel=1e-5)
    run = runs.Run(folder, config, prepared.prep, {}, pd.DataFrame())
    test = forecasting.test_forecasts(forecasting.prepare(run), model)
    test_mae = metrics.score(test.actual, test.forecasts["model"], 1.0)["overall"]["mae"]
    assert test_mae != pytest.approx(reported, rel=1e-3)


@pytest.mark.slow
def test_a_trial_that_keeps_its_untrained_start_says_so_and_the_refit_trains_no_epoch(tmp_path):
    """A weekly cycle with no noise: the fitted start is exact and no epoch beats it, as `train` would find.

    The trial's row then reports epoch 0 and the start's validation loss (not an epoch's that was thrown away),
    and the refit keeps the start fitted on train+validation instead of training an epoch that lost."""
    days = pd.date_range("2021-01-04", periods=210, freq="D")
    pd.DataFrame({"day": days, "visits": [100 + 20 * (d.dayofweek in (5, 6)) + 3 * d.dayofweek for d in days]}).to_csv(
        tmp_path / "weekly.csv", index=False)
    raw = {"data": {"path": str(tmp_path / "weekly.csv"), "targets": ["visits"]}, "window": {"horizon": 7},
           "training": {"epochs": 2, "seed": 1}, "run": {"dir": str(tmp_path / "runs")},
           "tune": {"trials": 2, "space": {"model.layers[0].units": {"int": [4, 8]}}}}
    result = runner.invoke(app, ["tune", str(write(tmp_path, raw)), "--refit"])
    assert result.exit_code == 0, result.output
    folder = Path(result.stdout.strip().splitlines()[-1])
    trials = pd.read_csv(folder / "trials.csv")
    assert (trials["best_epoch"] == 0).all() and (trials["epochs"] == 2).all()
    assert "every trial kept its untrained start" in result.stderr
    (refit,) = folder.glob("refit-*")
    meta = yaml.safe_load((refit / "metadata.json").read_text())
    assert meta["epochs_run"] == 0 and meta["best_epoch"] == 0 and meta["trained_on"] == "train+validation"
    assert len(pd.read_csv(refit / "history.csv")) == 0
    assert runner.invoke(app, ["plot", str(refit), "--output", str(tmp_path / "p.png")]).exit_code == 0
    # the reported loss is the start's: the same validation loss `train` measures for its untrained model
    trained = runner.invoke(app, ["train", str(folder / "best.yaml"), "--set", f"run.dir={tmp_path / 'again'}"])
    assert trained.exit_code == 0, trained.output
    again = yaml.safe_load((Path(trained.stdout.strip().splitlines()[-1]) / "metadata.json").read_text())
    assert again["best_epoch"] == 0
    best = trials.loc[trials["val_mae"].idxmin()]
    assert best["val_loss"] == pytest.approx(again["initial_val_loss"], rel=1e-5)


@pytest.mark.slow
def test_a_panel_with_a_series_too_short_to_score_is_searched_on_the_others(tmp_path):
    """A series too short for every part is trained on, not scored: every trial failed on its empty validation."""
    rows = []
    for store, n in (("a", 200), ("b", 150), ("c", 20)):
        for d, day in enumerate(pd.date_range("2024-01-01", periods=n)):
            rows.append({"store": store, "day": day.strftime("%Y-%m-%d"), "sales": 10 + d % 7 + (store == "b")})
    pd.DataFrame(rows).to_csv(tmp_path / "p.csv", index=False)
    raw = {"data": {"path": str(tmp_path / "p.csv"), "targets": ["sales"], "id_column": "store"},
           "window": {"input_length": 14, "horizon": 7}, "training": {"epochs": 1}, "run": {"dir": str(tmp_path / "runs")},
           "tune": {"trials": 1, "space": {"model.layers[0].units": [4]}}}
    result = runner.invoke(app, ["tune", str(write(tmp_path, raw))])
    assert result.exit_code == 0, result.output
    trials = pd.read_csv(Path(result.stdout.strip().splitlines()[-1]) / "trials.csv")
    assert list(trials["state"]) == ["complete"] and trials["val_mae"].notna().all()


def test_a_resumed_study_does_not_draw_its_first_values_again(tmp_path):
    """Reopened with the same seed, the sampler started over: a resume repeated the trials it had finished."""
    tune = config_module.validate(search_config(tmp_path)).tune
    journal = str(tmp_path / "study.journal")

    def draw(study):
        trial = study.ask()
        value = trial.suggest_float("lr", 1e-4, 1e-1, log=True), trial.suggest_categorical("cell", ["gru", "lstm", "rnn"])
        study.tell(trial, 1.0)
        return value

    first = draw(tuning.open_study(journal, "s", tune, seed=3))
    resumed = draw(tuning.open_study(journal, "s", tune, seed=3))
    assert resumed != first
    fresh = draw(tuning.open_study(str(tmp_path / "other.journal"), "s", tune, seed=3))
    assert fresh == first  # a new study with the seed still repeats itself, as a seed should


def test_failed_trials_are_recorded_with_their_reason_and_the_search_goes_on(tmp_path):
    raw = search_config(tmp_path, trials=3)
    raw["tune"]["space"] = {"window.input_length": [6, 500]}  # 500 rows of history: more than the file holds
    config = config_module.validate(raw)
    base = config.model_dump(mode="json", exclude={"tune"})
    dims = tuning.parse_space(config.tune.space, "test")
    study = tuning.open_study(str(tmp_path / "study.journal"), "s", config.tune, seed=0)
    for length in (500, 6, 500):
        study.enqueue_trial({"window.input_length": length})
    tuning.work(study, base, dims, config.tune)
    frame = tuning.trials_frame(study, "mae")
    assert list(frame["state"]) == ["fail", "complete", "fail"]
    assert frame["reason"].iloc[0] == frame["reason"].iloc[2]
    assert "window" in frame["reason"].iloc[0] and "500" not in str(frame["val_mae"].iloc[0])
    # whole numbers stay whole beside the failed trials' empty cells (1, not 1.0, in trials.csv)
    assert frame["epochs"].dtype == "Int64" and frame["window.input_length"].dtype == "Int64"
    best = tuning.write_outputs(study, tmp_path, config.tune, "s")
    assert best["window"]["input_length"] == 6
    assert pd.read_csv(tmp_path / "trials.csv")["reason"].notna().sum() == 2


def test_bounds_written_1e_4_are_numbers():
    """YAML reads 1e-4 (no dot) as text; the usual way to write a learning rate must be a bound."""
    raw = yaml.safe_load("lr: {float: [1e-4, 1e-2], log: true}\nunits: {int: [4, 1.6e1]}")
    units, lr = sorted(tuning.parse_space({"training.optimizer.learning_rate": raw["lr"],
                                           "model.layers[0].units": raw["units"]}, "s.yaml"), key=lambda d: d.key)
    assert (units.low, units.high) == (4, 16) and isinstance(units.high, int)
    assert (lr.low, lr.high, lr.log) == (1e-4, 1e-2, True)
    with pytest.raises(UserError, match="must be two floats"):
        tuning.parse_space({"training.optimizer.learning_rate": {"float": ["small", 1e-2]}}, "s.yaml")


@pytest.mark.parametrize(
    "space, words",
    [
        ({"model.layers[3].units": [4]}, ["tune.space.model.layers[3].units", "out of range"]),
        ({"model.type": ["lstm", "transformer"]}, ["tune.space.model.type", "'transformer'", "simple_rnn"]),
        ({"training.batch_size": {"int": [0, 8]}}, ["tune.space.training.batch_size", "0"]),
        ({"training.optimizer.learning_rate": {"float": [0, 1e-2], "log": True}}, ["positive low bound"]),
        ({"model.units": {"integer": [1, 3]}}, ["{int: [low, high]}"]),
        # whole ends, fractions drawn between them: every trial failed, after training (sweep 5)
        ({"model.layers[0].units": {"float": [4, 8]}}, ["draws fractions such as 5.528", "{int: [4, 8]}"]),
        # every trial failed on Optuna's ValueError, or a step wider than the range searched one value in silence
        ({"model.layers[0].units": {"int": [2, 8], "step": 0}}, ["step must be a positive whole number (got 0)"]),
        ({"model.layers[0].units": {"int": [2, 8], "step": -2}}, ["step must be a positive whole number (got -2)"]),
        ({"training.optimizer.learning_rate": {"float": [0.001, 0.01], "step": 1}},
         ["a step of 1 is wider than the range 0.001 to 0.01"]),
    ],
)
def test_a_bad_search_space_is_refused_before_any_trial(tmp_path, space, words):
    raw = search_config(tmp_path)
    raw["tune"]["space"] = space
    result = runner.invoke(app, ["tune", str(write(tmp_path, raw))])
    assert result.exit_code == 2, result.output
    for word in words:
        assert word in result.output
    assert not (tmp_path / "runs").exists()


def test_a_full_disk_as_a_search_starts_leaves_no_folder(tmp_path, monkeypatch):
    import errno

    real = Path.write_text

    def full_at_the_search_config(self, *args, **kwargs):  # the folder is claimed; its first file does not fit
        if self.name == "tune.yaml":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, *args, **kwargs)

    config_path = write(tmp_path, search_config(tmp_path))
    monkeypatch.setattr(Path, "write_text", full_at_the_search_config)
    result = runner.invoke(app, ["tune", str(config_path)])
    monkeypatch.undo()
    assert result.exit_code == 2 and "no space left" in result.stderr
    assert list((tmp_path / "runs").iterdir()) == []


def test_a_config_without_a_tune_section_is_a_user_error(tmp_path):
    raw = search_config(tmp_path)
    del raw["tune"]
    result = runner.invoke(app, ["tune", str(write(tmp_path, raw))])
    assert result.exit_code == 2 and "no `tune` section" in result.output


def test_more_layers_copy_the_last_one_before_the_sampled_values_apply():
    base = {"model": {"layers": [{"units": 8, "dropout": 0.1}]}}
    raw = tuning.configure(base, {"model.n_layers": 3, "model.layers[2].units": 5})
    assert raw["model"]["layers"] == [{"units": 8, "dropout": 0.1}, {"units": 8, "dropout": 0.1}, {"units": 5, "dropout": 0.1}]
    assert base["model"]["layers"] == [{"units": 8, "dropout": 0.1}]
    with pytest.raises(UserError, match="out of range"):
        tuning.configure(base, {"model.layers[1].units": 5})


def _load_study(journal: Path):
    import optuna

    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(journal)))
    summaries = optuna.get_all_study_summaries(storage)
    if not summaries:  # the journal file is there before the study's first record (a race, seen once)
        return None
    (summary,) = summaries
    return optuna.load_study(study_name=summary.study_name, storage=storage)


@pytest.mark.slow
def test_a_killed_search_resumes_without_losing_a_finished_trial(tmp_path):
    config = write(tmp_path, search_config(tmp_path, trials=4))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    process = subprocess.Popen([sys.executable, "-m", "rnnforecast.cli", "tune", str(config)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    journal, deadline = None, time.monotonic() + 180
    try:
        while time.monotonic() < deadline:
            found = list((tmp_path / "runs").glob(".*.partial/study.journal"))
            study = _load_study(found[0]) if found else None
            if study is not None and any(t.state.is_finished() for t in study.get_trials()):
                journal = found[0]
                # a second process on the running search marked its trial failed and crashed one of the two
                with pytest.raises(UserError, match=r"search .* is being run by process \d+ right now"):
                    tuning.tune(None, resume=journal.parent)
                break
            assert process.poll() is None, process.communicate()
            time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate()
    assert journal is not None, "no trial finished in time"
    before = {t.number: (t.value, t.params) for t in _load_study(journal).get_trials() if t.state.is_finished()}
    assert before and len(before) < 4
    result = cli("tune", "--resume", str(journal.parent))
    assert result.returncode == 0, result.stderr
    assert f"{len(before)} of 4 trials finished" in result.stderr
    folder = Path(result.stdout.strip().splitlines()[-1])
    assert folder.name == journal.parent.name[1 : -len(".partial")] and not journal.parent.exists()
    trials = pd.read_csv(folder / "trials.csv")
    for number, (value, params) in before.items():
        row = trials.set_index("trial").loc[number]
        assert row["val_mae"] == pytest.approx(value)
        assert all(row[key] == pytest.approx(v) if isinstance(v, float) else row[key] == v for key, v in params.items())
    assert len(finished_trials(trials)) == 4
    # a trial the kill cut short is marked and run again with the values it had drawn (the kill can land
    # before it drew any: then there is nothing to repeat, and the next trial draws its own)
    space = [c for c in trials.columns if c.startswith(("model.", "training."))]
    for _, cut in trials[trials["reason"].fillna("").str.startswith("interrupted")].iterrows():
        drawn = {key: cut[key] for key in space if pd.notna(cut[key])}
        later = trials[trials["trial"] > cut["trial"]]
        assert any(all(row[key] == value for key, value in drawn.items()) for _, row in later.iterrows())


@pytest.mark.slow
def test_two_local_workers_share_one_study_and_stop_at_the_requested_total(tmp_path):
    result = cli("tune", str(write(tmp_path, search_config(tmp_path, trials=3))), "--workers", "2")
    assert result.returncode == 0, result.stderr
    folder = Path(result.stdout.strip().splitlines()[-1])
    trials = pd.read_csv(folder / "trials.csv")
    assert len(trials) == 3 and sorted(trials["trial"]) == [0, 1, 2]  # an odd total: no even split, and still three
    assert set(trials["state"]) <= {"complete", "pruned"}
    assert trials["worker"].nunique() <= 2 and (folder / "best.yaml").is_file()
    study = _load_study(folder / "study.journal")
    assert all(t.state.is_finished() for t in study.get_trials())  # nothing left running, nothing beyond the four
    assert len([t for t in study.get_trials() if t.user_attrs.get("reason") != tuning.SURPLUS]) == 3


# ---------------------------------------------------------------------------- PostgreSQL, as on a cluster


def _postgres_bin() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent  # Debian links them from /usr/lib/postgresql/N/bin
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    return versions[-1].parent if versions else None


@pytest.fixture
def postgres_url():
    """A throwaway PostgreSQL server on a loopback port in a temporary folder, stopped afterwards."""
    bindir = _postgres_bin()
    if bindir is None:
        message = (
            "PostgreSQL binaries (initdb, pg_ctl) were not found: install them (Debian/Ubuntu: apt-get install "
            "postgresql) to run this test. .ci/run installs them and sets RNNFORECAST_REQUIRE_POSTGRES=1."
        )
        if os.environ.get("RNNFORECAST_REQUIRE_POSTGRES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    as_user: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="rnnforecast-pg-"))
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root: run it as the postgres user
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(folder, "postgres")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data = folder / "data"
    run = lambda *args: subprocess.run([*as_user, *map(str, args)], check=True, capture_output=True, text=True)  # noqa: E731
    run(bindir / "initdb", "-D", data, "-U", "tuner", "--auth=trust")
    run(bindir / "pg_ctl", "-D", data, "-l", folder / "server.log", "-w", "-o",
        f"-p {port} -h 127.0.0.1 -k {folder}", "start")
    try:
        run(bindir / "createdb", "-h", "127.0.0.1", "-p", port, "-U", "tuner", "studies")
        yield f"postgresql://tuner@127.0.0.1:{port}/studies"
    finally:
        run(bindir / "pg_ctl", "-D", data, "-m", "immediate", "stop")
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
def test_workers_on_a_postgresql_server_share_one_study(tmp_path, postgres_url):
    """Two `rnnforecast tune --storage postgresql://... --study NAME` processes, as a cluster's workers run them."""
    import optuna

    config = write(tmp_path, search_config(tmp_path, trials=4))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    command = [sys.executable, "-m", "rnnforecast.cli", "tune", str(config), "--storage", postgres_url, "--study", "pg"]
    workers = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
               for _ in range(2)]
    outputs = [w.communicate(timeout=300) for w in workers]
    assert [w.returncode for w in workers] == [0, 0], [err for _, err in outputs]
    study = optuna.load_study(study_name="pg", storage=postgres_url.replace("postgresql://", "postgresql+psycopg://"))
    counted = [t for t in study.get_trials() if t.user_attrs.get("reason") != tuning.SURPLUS]
    assert len(counted) == 4 and sorted(t.number for t in counted) == [0, 1, 2, 3]
    assert all(t.state.is_finished() for t in study.get_trials())
    for out, _ in outputs:  # each worker's folder tables the whole study
        trials = pd.read_csv(Path(out.strip().splitlines()[-1]) / "trials.csv")
        assert sorted(trials["trial"]) == [0, 1, 2, 3]


def test_a_pruned_trial_has_no_objective_value_only_its_last_validation_loss(tmp_path):
    import optuna

    config = config_module.validate(search_config(tmp_path))
    study = tuning.open_study(str(tmp_path / "study.journal"), "s", config.tune, seed=0)
    trial = study.ask()
    trial.report(0.75, 0)
    trial.report(0.5, 1)
    study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    row = tuning.trials_frame(study, "mae").iloc[0]
    assert row["state"] == "pruned" and pd.isna(row["val_mae"]) and row["val_loss"] == 0.5


def test_a_trial_whose_worker_died_is_run_again_by_another(tmp_path):
    """A running trial without a heartbeat for STALE_S seconds lost its worker: another runs its values again."""
    raw = search_config(tmp_path, trials=1)
    raw["tune"]["space"] = {"model.layers[0].units": {"int": [2, 9]}}
    config = config_module.validate(raw)
    study = tuning.open_study(str(tmp_path / "study.journal"), "s", config.tune, seed=0)
    dead = study.ask()
    dead.suggest_int("model.layers[0].units", 2, 9)
    dead.set_user_attr("heartbeat", time.time() - tuning.STALE_S - 1)
    units = dead.params["model.layers[0].units"]
    tuning.work(study, config.model_dump(mode="json", exclude={"tune"}), tuning.parse_space(config.tune.space, "t"),
                config.tune)
    frame = tuning.trials_frame(study, "mae")
    assert list(frame["state"]) == ["fail", "complete"]
    assert frame["reason"].iloc[0].startswith("interrupted")
    assert list(frame["model.layers[0].units"]) == [units, units]


def test_the_shipped_search_config_is_valid_in_every_value_of_its_space():
    """configs/quickstart-tune.yaml: its space parses and every value passes the schema (`train` ignores it)."""
    path = Path(__file__).parent.parent / "configs" / "quickstart-tune.yaml"
    config = config_module.load_config(path)
    dims = tuning.parse_space(config.tune.space, str(path))
    assert dims[0].key == tuning.N_LAYERS and config.tune.trials == 20 and config.tune.objective == "mae"
    tuning.check_space(config.model_dump(mode="json", exclude={"tune"}), dims, str(path))


def test_each_trial_decides_what_the_config_left_to_the_data_as_train_does(tmp_path):
    """A search of a panel of few series ranked its trials, and its refit kept intervals, on 3 validation windows
    where `train` splits by fractions: the dumped config pinned the split that validation had filled in."""
    import numpy as np

    from rnnforecast import training

    t = np.arange(400)
    pd.concat([pd.DataFrame({"id": key, "date": pd.date_range("2020-01-01", periods=400, freq="D").strftime("%Y-%m-%d"),
                             "y": 10 + np.sin(2 * np.pi * t / 7) + 0.1 * k * t}) for k, key in enumerate("ABC")]
              ).to_csv(tmp_path / "few.csv", index=False)
    raw = {"data": {"path": str(tmp_path / "few.csv"), "targets": ["y"], "id_column": "id"}, "window": {"horizon": 7},
           "tune": {"trials": 1, "space": {"model.type": ["lstm", "gru"]}}}
    base = config_module.search_base(config_module.validate(raw))
    assert "split" not in base["data"] and "decimal" not in base["data"]
    trial = config_module.validate(tuning.configure(base, {"model.type": "gru"}))
    assert len(training.prepare_data(trial).starts["val"]) >= training.inputs.FEW_SERIES  # as train splits it
    given = config_module.validate({**raw, "data": {**raw["data"], "split": {"test_length": 7}}})
    assert config_module.search_base(given)["data"]["split"]["test_length"] == 7  # a split the user gave is kept


def test_a_finished_search_refits_alone_and_an_interrupted_refit_says_how_to_refit_again(tmp_path, monkeypatch):
    """A Ctrl-C during --refit left a complete search without its refit: `tune --resume --refit` answered that
    there was nothing to resume, and `train --resume` of the refit could not know it trains on validation too."""
    from rnnforecast.tuning import search

    result = runner.invoke(app, ["tune", str(write(tmp_path, search_config(tmp_path, trials=1)))])
    assert result.exit_code == 0, result.output
    folder = Path(result.stdout.strip().splitlines()[-1])
    plain = runner.invoke(app, ["tune", "--resume", str(folder)])  # it said "its refit is already there too"
    assert plain.exit_code == 2 and f"rnnforecast tune --resume {folder} --refit" in plain.output

    def interrupted(best, final):
        (final / ".refit-20261207-000000.partial").mkdir()  # what a refit stopped in its first epoch leaves
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(search, "refit_best", interrupted)
        stopped = runner.invoke(app, ["tune", "--resume", str(folder), "--refit"])
    assert stopped.exit_code == 130 and f"rnnforecast tune --resume {folder} --refit" in stopped.output
    assert not list(folder.glob(".refit-*"))
    again = runner.invoke(app, ["tune", "--resume", str(folder), "--refit"])
    assert again.exit_code == 0, again.output
    assert [p.name.startswith("refit-") for p in folder.iterdir() if p.is_dir()] == [True]
    # the refit's first line names that command too, not `train --resume` of the refit (which cannot resume it)
    assert f"(if interrupted: rnnforecast tune --resume {folder} --refit)" in again.stderr
    done = runner.invoke(app, ["tune", "--resume", str(folder), "--refit"])
    assert done.exit_code == 2 and "its refit is there too (refit-" in done.output


def test_an_interrupt_while_the_results_are_written_names_the_resume(tmp_path, monkeypatch):
    """Every trial finished, the outputs not yet written: it said "nothing was left half-written" and left the hidden
    search folder without a word of how to finish it."""
    from rnnforecast.tuning import search

    original = search.write_outputs

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(search, "write_outputs", interrupted)
    stopped = runner.invoke(app, ["tune", str(write(tmp_path, search_config(tmp_path, trials=1)))])
    assert stopped.exit_code == 130 and "while writing its results" in stopped.stderr
    command = stopped.stderr.split("Resume with: ")[1].split()
    monkeypatch.setattr(search, "write_outputs", original)
    again = runner.invoke(app, command[1:])
    assert again.exit_code == 0, again.output
    assert (Path(again.stdout.strip().splitlines()[-1]) / "best.yaml").is_file()


def test_workers_are_at_most_one_per_trial_left_and_more_than_the_cores_is_said(capsys, monkeypatch):
    """--workers 1000 started 1,000 processes each importing TensorFlow (a 2-core machine stalled)."""
    from rnnforecast.tuning import search

    monkeypatch.setattr(search.os, "cpu_count", lambda: 2)
    assert search._worker_count(1000, 3) == 3
    said = capsys.readouterr().err
    assert "3 worker(s), not 1000: the search has 3 trial(s) left" in said and "3 workers on 2 CPU core(s)" in said
    assert search._worker_count(2, 10) == 2 and capsys.readouterr().err == ""
    assert search._worker_count(4, 0) == 1  # nothing left: the search's own process finishes it


def test_a_space_of_one_value_per_key_says_the_trials_are_one_config(tmp_path):
    """`[4]` or {int: [4, 4]} ran N identical trials without a word."""
    raw = search_config(tmp_path, trials=1)
    raw["tune"]["space"] = {"model.layers[0].units": [4], "training.batch_size": {"int": [32, 32]}}
    result = runner.invoke(app, ["tune", str(write(tmp_path, raw))])
    assert result.exit_code == 0, result.output
    assert "every key of tune.space takes one value, so every trial trains the same config" in result.stderr
