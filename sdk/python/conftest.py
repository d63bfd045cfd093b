"""The SDK's own tests (and doctests) run from the source tree, and like a plugin's with a fresh
fake host for every test, which the installed package's pytest plugin gives."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from campanile_sdk.pytest_plugin import _campanile_fake_host  # noqa: E402,F401

# These import the bindings componentize-py generates: they exist only inside a component.
collect_ignore = ["src/campanile_sdk/_wit.py", "src/campanile_sdk/_component.py"]
