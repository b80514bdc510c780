"""Fixtures shared by the test modules."""

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def data_dir():
    """The folder of the real data sets, from `$ACTKERAS_DATA_DIR`; skips without it."""
    value = os.environ.get("ACTKERAS_DATA_DIR")
    if not value:
        pytest.skip("ACTKERAS_DATA_DIR is not set: set it to the folder of the real data sets "
                    "(notmnist/, fashion-mnist/) to run the tests on the full files")
    path = Path(value)
    if not path.is_dir():
        pytest.skip(f"ACTKERAS_DATA_DIR={value} is not a folder")
    return path
