"""Shared fixtures: small real data and a writer for short configs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

DATA = Path(__file__).parent / "data"


def pytest_collection_modifyitems(items):
    """The slow tests first: the workers then end on short tests and finish at nearly the same time."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture
def write_config(tmp_path):
    """Write a config dict as YAML into tmp_path and return its path."""

    def write(raw: dict, name: str = "config.yaml") -> Path:
        path = tmp_path / name
        path.write_text(yaml.safe_dump(raw, sort_keys=False))
        return path

    return write


def jax_compile_cache(folder: Path) -> dict:
    """Environment for a JAX child process that keeps its XLA compilations in `folder`.

    A resumed or reloaded model compiles the same programs again; with the cache they are read
    back instead (the numbers are the same: only the compile is skipped).
    """
    return {"JAX_COMPILATION_CACHE_DIR": str(folder / "jax-cache"), "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
            "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0"}


def tiny_config(path: Path, **sections) -> dict:
    """A config that trains in seconds: one small layer, one epoch, no final model.

    `training.refit` is off here (it would train a second model in every test); the tests of the final
    model (test_defaults, and the run fixtures of test_adversarial) turn it on.
    """
    raw = {
        "data": {"path": str(path), "targets": ["Temp"]},
        "window": {"input_length": 14, "horizon": 7},
        "model": {"type": "gru", "layers": [{"units": 4}]},
        "training": {"epochs": 1, "batch_size": 256, "seed": 1, "refit": False},
    }
    for key, value in sections.items():
        raw[key] = {**raw.get(key, {}), **value}
    return raw
