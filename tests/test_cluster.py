"""`predict --cluster` and `evaluate --cluster`: a panel forecast and scored by the worker processes of a Dask cluster."""

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from rnnforecast import cluster
from rnnforecast.cli import app
from rnnforecast.errors import UserError

from .conftest import DATA, tiny_config

runner = CliRunner()


@pytest.mark.parametrize(("spec", "parsed"), [
    ("local:2", ("local", 2)), ("local[3]", ("local", 3)), (" tcp://10.0.0.5:8786 ", ("address", "tcp://10.0.0.5:8786")),
])
def test_cluster_specs(spec, parsed):
    assert cluster.parse(spec) == parsed
    assert cluster.parse("local")[1] >= 1


@pytest.mark.parametrize("spec", ["", "local:0", "local:two", "10.0.0.5:8786", "tcp://", "spark://host:7077"])
def test_a_spec_that_is_no_cluster_is_refused_with_the_forms_allowed(spec):
    with pytest.raises(UserError, match="local:N"):
        cluster.parse(spec)


@pytest.mark.slow
def test_a_panel_forecast_on_two_local_workers_is_the_one_process_forecast(tmp_path):
    """Five series cut into partitions over two worker processes: the same table, in the same order."""
    frame = pd.read_csv(DATA / "daily-min-temperatures.csv").tail(300)
    parts = [frame.assign(id=f"s{i}", Temp=frame["Temp"] * (1 + i / 2)) for i in range(5)]
    parts.append(frame.tail(10).assign(id="short"))  # shorter than one window: AutoETS and AutoTheta forecast it
    pd.concat(parts).to_csv(tmp_path / "p.csv", index=False)
    raw = tiny_config(tmp_path / "p.csv", data={"id_column": "id"}, run={"dir": str(tmp_path / "runs")},
                      training={"refit": True})
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(raw))
    result = runner.invoke(app, ["train", str(tmp_path / "c.yaml")])
    assert result.exit_code == 0, result.output
    run = Path(result.stdout.strip().splitlines()[-1])

    one, many = tmp_path / "one.csv", tmp_path / "many.parquet"
    assert runner.invoke(app, ["predict", str(run), "--output", str(one)]).exit_code == 0
    result = runner.invoke(app, ["predict", str(run), "--cluster", "local:2", "--output", str(many)])
    assert result.exit_code == 0, result.output
    assert "6 series x 7 steps" in result.stderr
    alone, fanned = pd.read_csv(one), pd.read_parquet(many)
    assert list(fanned["id"].unique()) == ["s0", "s1", "s2", "s3", "s4", "short"]
    pd.testing.assert_frame_equal(fanned.astype({"Date": str}), alone, check_exact=False, rtol=1e-6)

    # The other commands join a running cluster by its scheduler's address, as on many machines (one start of the
    # workers for all of them: each start imports TensorFlow in every worker).
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as running:
        _fan_out_to_a_running_cluster(tmp_path, run, alone, running.scheduler_address)
        assert len(running.scheduler_info["workers"]) == 2  # a cluster the command joined is left running


def _fan_out_to_a_running_cluster(tmp_path, run, alone, address):
    # From Parquet each worker reads only its partition's rows (a filter on the id column), with the same result;
    # here `--series` picks three series, still spread over both workers.
    pd.read_csv(tmp_path / "p.csv").to_parquet(tmp_path / "p.parquet")
    filtered = tmp_path / "filtered.csv"
    result = runner.invoke(app, ["predict", str(run), "--cluster", address, "--data", str(tmp_path / "p.parquet"),
                                 "--series", "s1", "--series", "s3", "--series", "s4", "--output", str(filtered)])
    assert result.exit_code == 0, result.output
    picked = alone[alone["id"].isin(["s1", "s3", "s4"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(pd.read_csv(filtered), picked, check_exact=False, rtol=1e-6)

    result = runner.invoke(app, ["evaluate", str(run), "--format", "json"])
    assert result.exit_code == 0, result.output
    alone = json.loads(result.stdout)
    result = runner.invoke(app, ["evaluate", str(run), "--format", "json", "--cluster", address])
    assert result.exit_code == 0, result.output
    fanned = json.loads(result.stdout)
    assert fanned["series_scored"] == alone["series_scored"] == 5
    assert fanned["series"].keys() == alone["series"].keys()
    for key in alone["series"]:
        assert fanned["series"][key]["model"]["mase"] == pytest.approx(alone["series"][key]["model"]["mase"], rel=1e-6)
    assert fanned["aggregate"]["model"]["median"]["mase"] == pytest.approx(alone["aggregate"]["model"]["median"]["mase"])

    result = runner.invoke(app, ["predict", str(run), "--cluster", address, "--series", "nope"])
    assert result.exit_code == 2 and "series 'nope' not found" in result.stderr and "Traceback" not in result.output


def test_without_dask_the_message_says_how_to_install_it(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_dask(name, *args, **kwargs):
        if name.startswith("dask"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_dask)
    with pytest.raises(UserError, match=r"pip install 'rnnforecast\[cluster\]'"):
        cluster._client("local:2")
