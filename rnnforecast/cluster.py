"""`predict --cluster`, `evaluate --cluster`: a panel's series fanned out over a Dask cluster, the results gathered.

Dask rather than Ray: `distributed` is pure Python (about 10 MB, installs wherever
pip does), a worker is a plain process started with `dask worker tcp://host:8786`,
and its futures retry a failed task on another worker by themselves. The series are
cut into partitions; each worker loads the run and its model once, reads its partitions'
rows (from Parquet, only those), and forecasts (or scores) them; the client writes the
gathered result once, so a failed run leaves no output behind.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from rnnforecast.errors import UserError

SCHEMES = ("tcp", "tls", "ucx", "ws", "wss", "inproc")  # the addresses a Dask scheduler listens on
RETRIES = 2  # a partition whose worker dies is run again elsewhere, this many times
PARTITIONS_PER_WORKER = 4  # small enough to balance uneven workers, large enough to batch each predict well
_LOADED: dict[tuple, tuple] = {}  # in a worker process: (run, model, panel) per run and data file


def parse(spec: str) -> tuple[str, int | str]:
    """`local`, `local:N` or a scheduler address (`tcp://host:port`) -> ("local", N) or ("address", spec)."""
    text = spec.strip()
    if text == "local" or text.startswith("local:") or text.startswith("local["):
        count = text[len("local"):].strip(":[]")
        if not count:
            return "local", max(1, os.cpu_count() or 1)
        if count.isdigit() and int(count) > 0:
            return "local", int(count)
    elif text.split("://", 1)[0] in SCHEMES and text.split("://", 1)[1:] not in ([], [""]):
        return "address", text
    raise UserError(
        f"--cluster {spec!r} is not a cluster. Give local (one worker process per core), local:N (N worker "
        "processes on this machine) or the address of a running Dask scheduler, such as tcp://10.0.0.5:8786."
    )


def _client(spec: str):
    """A Dask client for the spec, and the local cluster it started (None when joining a running one)."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise UserError(
            "--cluster needs Dask's distributed scheduler, which is not installed. Install it with "
            "pip install 'rnnforecast[cluster]' (or pip install distributed), then run the command again."
        ) from None
    kind, value = parse(spec)
    if kind == "local":
        # One thread per worker process: the model's own math is already parallel inside each process.
        cluster = LocalCluster(n_workers=value, threads_per_worker=1, processes=True, dashboard_address=None)
        return Client(cluster), cluster
    try:
        return Client(value, timeout="20s"), None
    except (OSError, TimeoutError) as exc:
        raise UserError(
            f"no Dask scheduler answered at {value} ({exc}). Start one (dask scheduler, then dask worker {value} on "
            "each machine) or check the address and port."
        ) from None


def series_ids(run, data_path: Path | None, only: list[str] | None) -> list[str]:
    """The series to forecast, in the panel's order, read from the id column alone (the client reads no data)."""
    if only:
        return list(dict.fromkeys(only))
    from rnnforecast import data

    id_column = run.prep["id_column"]
    table = data.read_table(Path(data_path or run.config.data.path), [id_column], ids=id_column)
    if id_column not in table.columns:
        raise UserError(f"column '{id_column}' (data.id_column) is not in {Path(data_path or run.config.data.path).name}.")
    from rnnforecast.forecasting import combination

    ids = sorted(set(data.id_keys(table[id_column])))
    skipped = set(run.prep.get("skipped", [])) if data_path is None else set()
    if combination.forecasts_short_series(run):  # those too short for the network are forecast by the classical models
        skipped -= set(run.prep.get("too_short", []))
    return [key for key in ids if key not in skipped]


def _partition(job: str, run_path: str, data_path: str | None, ids: list[str]) -> tuple:
    """Runs in a worker: (the partition's result, its notes, None) or (None, [], the user's mistake).

    `job` is "forecast" (a table of the partition's future), "evaluate" (each series' report) or
    "evaluate+classical" (with AutoETS and AutoTheta scored too).
    A mistake is returned, not raised: Dask would retry it and log a traceback in the worker,
    while the client has a one-paragraph message to print. A crash is raised and retried.
    """
    try:
        return (*_run_job(job, run_path, data_path, ids), None)
    except UserError as exc:
        return None, [], exc


def _run_job(job: str, run_path: str, data_path: str | None, ids: list[str]) -> tuple:
    """The partition's result and notes; the run and its models are loaded once per worker.

    From Parquet a worker reads only its partition's rows; a CSV file is read whole, once per
    worker, and kept for its next partitions.
    """
    from rnnforecast import data, forecasting, runs

    source = Path(data_path) if data_path else None
    stat = os.stat(data_path) if data_path else None
    key = (run_path, data_path or "", stat and (stat.st_mtime_ns, stat.st_size))  # a rewritten file is read again
    if key not in _LOADED:
        _LOADED.clear()  # one run at a time per worker: memory stays bounded
        _LOADED[key] = {"run": runs.load(Path(run_path))}
    loaded = _LOADED[key]
    run, notes = loaded["run"], []
    if data.is_parquet(source or Path(run.config.data.path)):
        panel = forecasting.load_panel_of(run, source, only=ids)
    else:
        if "panel" not in loaded:
            loaded["panel"] = forecasting.load_panel_of(run, source)
        panel = loaded["panel"]
    if job == "forecast":
        if "final" not in loaded:
            loaded["final"] = run.load_model(final=True)
        return forecasting.panel_table(run, source, ids, loaded["final"], notes, panel), notes
    if "honest" not in loaded:
        loaded["honest"] = run.load_model()
    return forecasting.series_reports(run, source, ids, loaded["honest"], panel,
                                      with_classical=job == "evaluate+classical"), notes


def _fan_out(run, data_path: Path | None, only: list[str] | None, spec: str, job: str) -> list:
    """Every partition's result, in series order, from the workers of the cluster `spec`."""
    parse(spec)  # a mistyped spec is named before anything is read
    if not run.is_panel:
        raise UserError("--cluster is for runs trained on many series (data.id_column); this run has one. "
                        "Leave --cluster out.")
    ids = series_ids(run, data_path, only)
    if job.startswith("evaluate"):  # only the series trained on have a fitted scaling to score them with
        ids = [key for key in ids if key in run.prep["series"]]
    if not ids:
        raise UserError(f"no series of {run.path.name}'s data is left to send to the cluster: every one was left out "
                        "in training (train's notes say why). Give them more history with --data.")
    client, cluster = _client(spec)
    try:
        workers = max(1, len(client.scheduler_info()["workers"]))
        count = max(1, min(len(ids), workers * PARTITIONS_PER_WORKER))
        size = -(-len(ids) // count)
        parts = [ids[i : i + size] for i in range(0, len(ids), size)]
        run_path = str(Path(run.path).resolve())
        data = str(Path(data_path).resolve()) if data_path else None
        futures = [client.submit(_partition, job, run_path, data, part, retries=RETRIES, pure=False) for part in parts]
        results = client.gather(futures)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    for _, _, mistake in results:
        if mistake is not None:
            raise mistake
    return results


def forecast_run(run, data_path: Path | None, only: list[str] | None, spec: str) -> pd.DataFrame:
    """The same table as forecasting.forecast_run, computed by the workers of the cluster `spec`.

    Args:
        run: a loaded panel run (the workers load it again from its folder, which they must see).
        data_path: newer data, or None for the training file; only: these series ids, else all.
        spec: `local`, `local:N` or a scheduler address (see `parse`).

    Returns:
        The forecast table, its rows in series order; `attrs["notes"]`: the workers' notes, each once.
    """
    results = _fan_out(run, data_path, only, spec, "forecast")
    tables = [table for table, _, _ in results if len(table)]
    if not tables:
        raise UserError(f"no series of {run.path.name}'s data holds one input window to forecast from.")
    table = pd.concat(tables, ignore_index=True)
    from rnnforecast.forecasting.future import backtest_notes

    first = backtest_notes(run)
    table.attrs["notes"] = list(dict.fromkeys([*first, *(note for _, notes, _ in results for note in notes)]))
    return table


def evaluate_run(run, data_path: Path | None, spec: str, with_classical: bool | None = None) -> dict:
    """The same report as forecasting.evaluate_run for a panel, each series scored by a worker of `spec`."""
    from rnnforecast import forecasting
    from rnnforecast.forecasting import classical

    job = "evaluate+classical" if run.is_panel and classical.wanted(with_classical, len(run.prep["series"])) else "evaluate"
    reports = {key: report for found, _, _ in _fan_out(run, data_path, None, spec, job) for key, report in found.items()}
    if not reports:
        raise UserError(f"no series in {run.path.name}'s data has a complete test window to score.")
    return forecasting.panel_report(run, reports)
