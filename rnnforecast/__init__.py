"""rnnforecast: forecast time series with stacked recurrent networks from a YAML file."""

__version__ = "0.1.0"


def main() -> None:
    """The `rnnforecast` command: the CLI, imported here so that a Ctrl-C while it loads exits 130 without a traceback."""
    import sys

    try:
        from rnnforecast.cli import app
    except KeyboardInterrupt:
        sys.exit(130)
    app()
