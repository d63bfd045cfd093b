"""A pytest plugin (registered by the package's `pytest11` entry point): every test starts
with a fresh fake host."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from . import testing


@pytest.fixture(autouse=True)
def _campanile_fake_host() -> Iterator[None]:
    testing.reset()
    yield
