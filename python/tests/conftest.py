"""Shared set-up of the smoothlab Python tests.

Run from the repository root after building the extension:

    PYTHONPATH=build/python /usr/bin/python3 -m pytest -q python/tests

`import smoothlab` must work (PYTHONPATH pointing at build/python, or the package installed). As a convenience the
build folder of this checkout (`$SMOOTHLAB_BUILD_DIR/python`, else `build/python`) is put on sys.path when smoothlab
is not importable as it is. A missing or broken package FAILS the run with a message — never a silent skip: every
test here needs it.
"""
import importlib
import os
import pathlib
import sys
import traceback

import pytest
import torch

torch.set_num_threads(2)

_REPO = pathlib.Path(__file__).resolve().parents[2]


def _try_import():
    """None when `import smoothlab` works, else a description of why not."""
    try:
        importlib.import_module("smoothlab")
        return None
    except Exception:  # ImportError, or an OSError/RuntimeError from loading the extension
        problem = traceback.format_exc(limit=1).strip().splitlines()[-1]
    candidates = []
    if os.environ.get("SMOOTHLAB_BUILD_DIR"):
        candidates.append(pathlib.Path(os.environ["SMOOTHLAB_BUILD_DIR"]) / "python")
    candidates.append(_REPO / "build" / "python")
    for folder in candidates:
        if (folder / "smoothlab").is_dir() and str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
            for name in [m for m in sys.modules if m == "smoothlab" or m.startswith("smoothlab.")]:
                del sys.modules[name]
            try:
                importlib.import_module("smoothlab")
                return None
            except Exception:
                problem = traceback.format_exc(limit=1).strip().splitlines()[-1]
    return problem


_IMPORT_PROBLEM = _try_import()


def pytest_sessionstart(session):
    if _IMPORT_PROBLEM is not None:
        pytest.exit(
            "cannot import smoothlab: {}\n"
            "Build the Python extension first (cmake -S . -B build && cmake --build build), then run from the "
            "repository root:\n"
            "    PYTHONPATH=build/python /usr/bin/python3 -m pytest -q python/tests".format(_IMPORT_PROBLEM),
            returncode=3,
        )


def pytest_report_header(config):
    if _IMPORT_PROBLEM is not None:
        return "smoothlab: NOT importable"
    import smoothlab

    where = getattr(smoothlab, "__file__", "?")
    return "smoothlab: {} (torch {}, {} threads)".format(where, torch.__version__, torch.get_num_threads())
