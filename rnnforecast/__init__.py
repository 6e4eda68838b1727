"""rnnforecast: forecast time series with stacked recurrent networks from a YAML file."""

__version__ = "0.1.0"
