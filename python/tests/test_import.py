"""Importing smoothlab on another torch than the one it was built against fails with one message naming both."""
import os
import shutil
import subprocess
import sys

import smoothlab
import torch


def test_version_of_the_build_is_recorded():
    from smoothlab import _build
    assert smoothlab.__version__ == _build.version
    assert smoothlab._C.__torch_version__ == _build.torch_version
    # Debian's python3-torch reports 1.13.0a0; the build records LibTorch's 1.13.0: the release numbers agree.
    assert smoothlab._release(torch.__version__) == smoothlab._release(_build.torch_version)


def test_mismatched_torch_is_one_clear_import_error(tmp_path):
    package = os.path.dirname(smoothlab.__file__)
    copy = tmp_path / "smoothlab"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "_build.py").write_text('version = "0.1.0"\ntorch_version = "9.8.7"\n')
    run = subprocess.run([sys.executable, "-c", "import smoothlab"], cwd=tmp_path, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert run.returncode != 0
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: smoothlab was built against torch 9.8.7"), run.stderr
    assert torch.__version__ in last
    assert "Traceback" in run.stderr and "undefined symbol" not in run.stderr
