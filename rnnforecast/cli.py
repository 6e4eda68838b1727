"""The `rnnforecast` command: parse, call one function, print. No logic here."""

from __future__ import annotations

import functools
import json
import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from rnnforecast import errors
from rnnforecast.errors import Interrupted, UserError

app = typer.Typer(
    help="Forecast time series with stacked SimpleRNN/LSTM/GRU networks, from a YAML config.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
_state = {"debug": False}

def _home(value):
    """`~/runs/x` as the home folder's: the shell expands only a bare ~ (not after `--output=`, nor in quotes), and
    a path taken as written made a folder named `~` in the working directory."""
    return type(value)(os.path.expanduser(value)) if value else value


RunArg = Annotated[Path, typer.Argument(help="A run folder written by `rnnforecast train`.", callback=_home)]
DataOpt = Annotated[
    Optional[Path], typer.Option("--data", help="Newer data with the same columns; default: the training file.",
                                 callback=_home)
]
ClusterOpt = Annotated[Optional[str], typer.Option(
    "--cluster", help="A panel's series spread over a Dask cluster: local, local:N (worker processes here) "
    "or a scheduler's address (tcp://host:8786).")]
def _load_with_data(run: Path, data: Optional[Path]):
    """The run, and the data its command reads (runs.data_to_read), with the note when its file has changed."""
    from rnnforecast import runs

    loaded = runs.load(run, data, reads_data=True)
    data, note = runs.data_to_read(loaded, data)
    if note:
        typer.echo(f"note: {note}", err=True)
    return loaded, data


SeriesOpt = Annotated[Optional[list[str]], typer.Option(
    "--series", help="Only these series of a panel run (repeatable, or comma-separated).")]


ClassicalOpt = Annotated[Optional[bool], typer.Option(
    "--classical/--no-classical", help="Score statsforecast's AutoETS and AutoTheta too; default: when the data has "
    "at most 1,000 series (and statsforecast is installed, as it is with rnnforecast).")]
SetOpt = Annotated[
    list[str], typer.Option("--set", help="Override a config value, e.g. --set training.epochs=3 (repeatable).")
]


class Format(str, Enum):
    table = "table"
    json = "json"


class _ReaderMayLeave:
    """Standard output that a reader may close (`train ... | head`): what is written after is dropped, and the command
    goes on, so that a training, a metrics file or a backtest is not lost to a closed pipe (Keras's progress lines and
    rich's tables would raise, or exit, at their next write)."""

    def __init__(self, stream):
        self._stream, self._gone = stream, stream is None  # None: started with it closed (`>&-`)

    @property
    def closed_at_start(self) -> bool:
        return self._stream is None

    def write(self, text: str) -> int:
        if not self._gone:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._leave()
        return len(text)

    def flush(self) -> None:
        if not self._gone:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._leave()

    def _leave(self) -> None:
        self._gone = True
        try:  # the interpreter's last flush of the stream goes nowhere, quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), self._stream.fileno())
        except (OSError, ValueError, AttributeError):  # a stream without a descriptor (a test's)
            pass

    def __getattr__(self, name):
        return getattr(self._stream, name)


def _terminate_as_interrupt():
    """`kill` (SIGTERM, what job schedulers and `timeout` send) handled as Ctrl-C is, so that nothing is left half-written
    (a training stopped before its first epoch left its hidden folder behind). Returns what puts the old handler back."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    return lambda: signal.signal(signal.SIGTERM, previous)


def _user_errors(command):
    """Print a UserError as one paragraph on stderr and exit 2; other errors are bugs."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        stdout, sys.stdout = sys.stdout, _ReaderMayLeave(sys.stdout)
        terminate = _terminate_as_interrupt()
        try:
            return command(*args, **kwargs)
        except UserError as exc:
            if _state["debug"]:
                raise
            typer.echo(f"Error: {exc}", err=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            typer.echo("Interrupted; nothing was left half-written.", err=True)
            raise typer.Exit(130) from None
        except BrokenPipeError:  # the reader went away (`predict ... | head`): nothing more to say
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(0) from None
        except Interrupted as exc:
            typer.echo(f"Interrupted: {exc}", err=True)
            raise typer.Exit(130) from None
        except Exception as exc:
            if _state["debug"]:
                raise
            found = errors.from_environment(exc)
            if found is not None:
                typer.echo(f"Error: {found}", err=True)
                raise typer.Exit(2) from None
            typer.echo(
                f"Internal error: {type(exc).__name__}: {exc}\n"
                "This is a bug in rnnforecast. Run the command again with --debug before it (rnnforecast --debug "
                f"{command.__name__.replace('_', '-')} ...) for the traceback and report it.",
                err=True,
            )
            raise typer.Exit(1) from None
        finally:
            sys.stdout = stdout
            terminate()

    return wrapper


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"rnnforecast {version('rnnforecast')}")
        raise typer.Exit()


@app.callback()
def main(
    debug: Annotated[bool, typer.Option("--debug", help="Show Python tracebacks on errors.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the installed version and exit.")] = False,
) -> None:
    _state["debug"] = debug


@app.command()
@_user_errors
def train(
    config: Annotated[Optional[Path], typer.Argument(help="The YAML config file.", callback=_home)] = None,
    set_: SetOpt = [],
    resume: Annotated[
        Optional[Path], typer.Option("--resume", help="Finish an interrupted run from its last completed epoch.", callback=_home)
    ] = None,
) -> None:
    """Train the model a config describes; print the run folder it wrote."""
    from rnnforecast import config as config_module
    from rnnforecast import data, forecasting, training

    if (config is None) == (resume is None) or (resume is not None and set_):
        raise UserError("give a config file (with any --set overrides), or --resume RUN alone.")
    resolved = config_module.load_config(config, set_) if config is not None else None
    with data.read_once():  # the calibration reuses the training's read of the file
        run_path = training.train(resolved, config, resume=resume)
        notes = forecasting.finish_new_run(run_path)  # its calibration and combination
    for note in notes:
        typer.echo(f"note: {note}", err=True)
    typer.echo(f"Run saved to: {run_path}", err=True)
    typer.echo(str(run_path))


@app.command()
@_user_errors
def evaluate(
    run: RunArg,
    data: DataOpt = None,
    format: Annotated[Format, typer.Option("--format", help="table or json.")] = Format.table,
    cluster: ClusterOpt = None,
    classical: ClassicalOpt = None,
) -> None:
    """Score the model, the naive baselines (and AutoETS and AutoTheta) on the test windows; write metrics.json."""
    from rnnforecast import forecasting, reporting, runs

    loaded, data = _load_with_data(run, data)
    if cluster is None:
        report = forecasting.evaluate_run(loaded, data, classical)
    else:
        from rnnforecast import cluster as cluster_module

        report = cluster_module.evaluate_run(loaded, data, cluster, classical)
    target = run / ("metrics.json" if data is None else f"metrics-{data.stem}.json")
    for note in report.get("notes", []):
        typer.echo(f"note: {note}", err=True)
    if format is Format.json:
        typer.echo(json.dumps(report, indent=2))
    else:
        reporting.print_tables(reporting.report_tables(report))
    try:  # the scores are shown first: a run folder that cannot be written to (read-only, full) loses only the file
        runs.write_json(target, report)
    except OSError as exc:
        found = errors.from_environment(exc)
        if found is None:
            raise
        typer.echo(f"warning: the scores above are not saved: {found}", err=True)
        return
    if format is not Format.json:
        typer.echo(f"Written: {target}", err=True)


@app.command()
@_user_errors
def predict(
    run: RunArg,
    data: DataOpt = None,
    output: Annotated[Optional[str], typer.Option("--output", "-o", help="file to write: CSV, or Parquet, JSON, JSON Lines or TSV by its suffix (.parquet or .pq, .json, .jsonl, .tsv; .gz, .bz2, .xz or .zip after it compresses); default or -: print.", callback=_home)] = None,
    series: SeriesOpt = None,
    cluster: ClusterOpt = None,
) -> None:
    """Forecast the horizon after the last row of the data, with its timestamps (every series of a panel)."""
    from rnnforecast import forecasting, runs

    output = None if output == "-" else runs.output_path(output, "forecast.csv")  # -: standard output
    if output is None and getattr(sys.stdout, "closed_at_start", False):
        raise UserError("standard output is closed (`>&-`), and predict prints the forecast there. Give --output FILE "
                        "to write it to a file, or leave standard output open.")
    loaded, data = _load_with_data(run, data)
    series = runs.series_ids(loaded, series)
    if output is not None:  # a name it cannot write, or a file it may not replace, is refused before the forecast
        runs.check_table_output(output, inputs=(loaded.config.data.path, data))
    if cluster is None:
        forecast = forecasting.forecast_run(loaded, data, series or None)
    else:
        from rnnforecast import cluster as cluster_module

        forecast = cluster_module.forecast_run(loaded, data, series or None, cluster)
    for note in forecast.attrs.get("notes", []):
        typer.echo(f"note: {note}", err=True)
    if output is None:
        forecast.to_csv(sys.stdout, index=False, **runs.csv_options(forecast))
    else:
        runs.write_table(output, forecast, inputs=(loaded.config.data.path, data))
        typer.echo(f"Written: {output} ({forecasting.describe_forecast(loaded, forecast)})", err=True)


@app.command()
@_user_errors
def plot(
    run: RunArg,
    data: DataOpt = None,
    output: Annotated[Optional[str], typer.Option("--output", "-o", help="image file (PNG, or PDF, SVG, ... by its suffix); -: standard output; default: <run>/forecast.png.", callback=_home)] = None,
    series: SeriesOpt = None,
) -> None:
    """Draw the history, the test-period forecast against the actual values, the future and the loss curves."""
    from rnnforecast import plotting, runs

    output = runs.output_path(output, "forecast.png") or run / "forecast.png"  # -: standard output, as for predict (a PNG's bytes, for a pipe)
    loaded, data = _load_with_data(run, data)
    for note in plotting.save_run_plot(loaded, data, output, runs.series_ids(loaded, series) or None):
        typer.echo(f"note: {note}", err=True)
    typer.echo(f"Written: {'standard output' if str(output) == '-' else output}", err=True)


@app.command()
@_user_errors
def backtest(
    config: Annotated[Path, typer.Argument(help="The YAML config file.", callback=_home)],
    stride: Annotated[
        Optional[int], typer.Option("--stride", min=1, help="Steps between forecast origins; default: the horizon.")
    ] = None,
    retrain_every: Annotated[
        Optional[int], typer.Option("--retrain-every", min=1, help="Train a fresh model every K folds; default: once.")
    ] = None,
    set_: SetOpt = [],
    classical: ClassicalOpt = None,
) -> None:
    """Rolling-origin backtest: train, forecast every test origin, score each fold against the baselines."""
    from rnnforecast import backtest as backtest_module
    from rnnforecast import config as config_module
    from rnnforecast import reporting

    resolved = config_module.load_config(config, set_)
    run_path = backtest_module.backtest(resolved, config, stride=stride, retrain_every=retrain_every,
                                        with_classical=classical)
    report = json.loads((run_path / "backtest.json").read_text())
    reporting.print_tables(reporting.report_tables(report), stderr=True)
    typer.echo(f"Backtest saved to: {run_path}", err=True)
    typer.echo(str(run_path))


@app.command()
@_user_errors
def calibrate(
    run: RunArg,
    quantiles: Annotated[
        Optional[str], typer.Option("--quantiles", help="Comma-separated, e.g. 0.05,0.5,0.95; default: the config's.")
    ] = None,
    method: Annotated[
        Optional[str], typer.Option("--method", help="rolling (recent errors at each origin) or split (validation only).")
    ] = None,
    window: Annotated[Optional[int], typer.Option("--window", help="rolling: errors per calibration set.")] = None,
    gamma: Annotated[Optional[float], typer.Option("--gamma", help="rolling: adaptive conformal step, 0 for off.")] = None,
    floor: Annotated[
        Optional[float], typer.Option("--floor", help="rolling with gamma: the level's lower bound x the miss rate; 0: none.")
    ] = None,
) -> None:
    """Calibrate the forecast quantiles per horizon step (default: the run's calibration section)."""
    from rnnforecast import config as config_module
    from rnnforecast import forecasting, runs

    loaded = runs.load(run, reads_data=True)
    wanted = config_module.parse_quantiles(quantiles) if quantiles else loaded.config.calibration.quantiles
    config_module.check_model_quantiles(loaded.config, wanted)
    asked = {"method": method, "window": window, "gamma": gamma, "floor": floor}
    settings = config_module.calibration_settings(loaded.config.calibration, quantiles=wanted, **asked)
    result = forecasting.recalibrate(loaded, wanted, settings, asked=asked)
    for note in forecasting.recalibration_notes(result, asked):
        typer.echo(f"note: {note}", err=True)
    how = result["method"] + (f", window {result['window']}" if result["method"] == "rolling" else "")
    how += f", gamma {result['gamma']:g}" if result.get("gamma") else ""
    how += f", floor {result['floor']:g}" if result.get("floor") else ""
    typer.echo(
        f"Calibrated quantiles {', '.join(f'{q:g}' for q in result['quantiles'])} ({how}) on {result['windows']} "
        f"validation windows: {run / 'calibration.json'}"
    )


@app.command()
@_user_errors
def tune(
    config: Annotated[Optional[Path], typer.Argument(help="A YAML config with a `tune` section.", callback=_home)] = None,
    set_: SetOpt = [],
    resume: Annotated[
        Optional[Path], typer.Option("--resume", help="Go on with an interrupted search (its run folder).", callback=_home)
    ] = None,
    refit: Annotated[
        bool, typer.Option("--refit", help="Retrain the best config on train+validation, into the search's folder.")
    ] = False,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Local worker processes sharing the study.")] = 1,
    storage: Annotated[
        Optional[str],
        typer.Option("--storage", help="Share the study through a database, e.g. postgresql://user:pass@host/db."),
    ] = None,
    study: Annotated[Optional[str], typer.Option("--study", help="The study's name in --storage.")] = None,
) -> None:
    """Search the hyperparameters in the config's `tune` section (Optuna), scored on the validation windows."""
    from rnnforecast import tuning

    if (config is None) == (resume is None) or (resume is not None and (set_ or storage)):
        raise UserError("give a config file (with any --set, --storage, --study options), or --resume FOLDER.")
    if (storage is None) != (study is None):
        raise UserError("--storage and --study go together: every worker of one study names the same two.")
    run_path = tuning.tune(config, set_, resume=resume, refit=refit, workers=workers, storage=storage, study_name=study)
    typer.echo(f"Search saved to: {run_path}", err=True)
    typer.echo(str(run_path))


@app.command()
@_user_errors
def info() -> None:
    """Versions, the Keras backend and the devices it sees (GPU or CPU)."""
    from rich.console import Console

    from rnnforecast import environment, reporting

    Console().print(reporting.environment_table(environment.describe()))


if __name__ == "__main__":
    app()
