"""smoothlab.train(): a run folder trained through the library path of `smoothlab train` / `smoothlab distill` and
evaluated as `smoothlab eval` does. With one thread and the same seed the program makes the same run: the same
epoch record and the same eval.json numbers, to the bit.

The program is $SMOOTHLAB_CLI (set by python/CMakeLists.txt for CTest), else the one built or installed with the
imported package (_cli); the comparison is skipped, with the reason, when none is there. The data is a small synthetic
IDX folder written here, so the tests need no data set installed."""
import gzip
import json
import os
import pathlib
import struct
import subprocess
import sys

import numpy as np
import pytest

import smoothlab

# A tiny run: the mlp, one epoch, one thread, no augmentation.
SETTINGS = {"model": "mlp", "epochs": 1, "batch_size": 64, "seed": 3, "threads": 1, "workers": 1, "augment": False}


def _cli():
    """The program built or installed with the imported package: $SMOOTHLAB_CLI, else BUILD/smoothlab beside
    BUILD/python/smoothlab, PREFIX/bin/smoothlab of `cmake --install` (PREFIX/lib/pythonX.Y/site-packages/smoothlab)
    or the environment's bin/smoothlab of a pip install."""
    up = pathlib.Path(smoothlab.__file__).resolve().parents  # the package's folder, its parent, ...
    candidates = [os.environ.get("SMOOTHLAB_CLI"), up[2] / "smoothlab" if len(up) > 2 else None,
                  up[4] / "bin" / "smoothlab" if len(up) > 4 else None, pathlib.Path(sys.prefix) / "bin" / "smoothlab"]
    for path in candidates:
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return str(path)
    return None


def _write_idx(path, array):
    """An unsigned-byte IDX file, gzipped: magic 0x0000 08 nd, nd big-endian uint32 sizes, the bytes."""
    with gzip.open(path, "wb") as f:
        f.write(bytes([0, 0, 0x08, array.ndim]) + struct.pack(">" + "I" * array.ndim, *array.shape))
        f.write(np.ascontiguousarray(array, dtype=np.uint8).tobytes())


@pytest.fixture(scope="module")
def idx_data(tmp_path_factory):
    """600 training and 200 test images of 28 × 28 in 4 classes: class k brightens band k of the rows, plus noise."""
    folder = tmp_path_factory.mktemp("idx")
    rng = np.random.default_rng(0)
    for stem, n in (("train", 600), ("t10k", 200)):
        labels = np.arange(n) % 4
        images = rng.integers(0, 120, size=(n, 28, 28))
        for k in range(4):
            images[labels == k, 7 * k:7 * k + 7, :] += 60
        _write_idx(folder / "{}-images-idx3-ubyte.gz".format(stem), images.astype(np.uint8))
        _write_idx(folder / "{}-labels-idx1-ubyte.gz".format(stem), labels.astype(np.uint8))
    return "idx:" + str(folder)


@pytest.fixture(scope="module")
def teacher_run(idx_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("py") / "run"
    return out, smoothlab.train(out, data=idx_data, smoothing=0.1, **SETTINGS)


def _cli_args(settings):
    args = []
    for key, value in settings.items():
        if key == "augment":
            args += [] if value else ["--no-augment"]
        else:
            args += ["--" + key.replace("_", "-"), str(value)]
    return args


def test_train_writes_a_run_folder_and_returns_its_eval(teacher_run):
    out, result = teacher_run
    for name in ("config.json", "metrics.jsonl", "checkpoint.safetensors", "eval.json", "calibration.json",
                 "test_logits.npy", "val_logits.npy"):
        assert (out / name).is_file(), name
    assert result["run_dir"] == str(out)
    assert result["epochs_done"] == 1 and result["resumed"] is False and result["distill"] is None
    assert result["last_epoch"]["epoch"] == 1
    # the typed record the library wrote to eval.json, not a second reading of it
    assert result["eval"] == json.loads((out / "eval.json").read_text())
    assert result["eval"]["test"]["count"] == 200
    assert 0.0 <= result["eval"]["test"]["accuracy"] <= 1.0
    config = json.loads((out / "config.json").read_text())["config"]
    assert config["model"] == "mlp" and config["smoothing"] == 0.1 and config["seed"] == 3
    assert config["lr"] == 0.1 * 64 / 128  # the model's default at batch 64, as the program chooses it
    # the same call again is refused, as the program refuses it: the run is finished
    with pytest.raises(smoothlab.Error) as info:
        smoothlab.train(out, data=config["data"], smoothing=0.1, **SETTINGS)
    assert "finished" in str(info.value)
    # resume=True continues it with the saved configuration: nothing is left to train, the evaluation is the same
    again = smoothlab.train(out, resume=True, threads=1)
    assert again["resumed"] is True and again["epochs_done"] == 1
    assert again["last_epoch"]["train_loss"] == result["last_epoch"]["train_loss"]
    assert again["eval"]["test"] == result["eval"]["test"]


def test_the_program_makes_the_same_run(teacher_run, idx_data, tmp_path):
    cli = _cli()
    if cli is None:
        pytest.skip("the smoothlab program was not found (set SMOOTHLAB_CLI)")
    py_out, result = teacher_run
    out = tmp_path / "cli"
    settings = dict(SETTINGS, data=idx_data, smoothing=0.1)
    for command in (["train", "--out", str(out)] + _cli_args(settings), ["eval", str(out), "--threads", "1"]):
        run = subprocess.run([cli] + command, capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr
    cli_epoch = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])
    cli_eval = json.loads((out / "eval.json").read_text())
    for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "val_ece"):
        assert result["last_epoch"][key] == cli_epoch[key], key
    for split in ("val", "test", "test_scaled"):
        for key in ("accuracy", "nll", "ece", "brier"):
            assert result["eval"][split][key] == cli_eval[split][key], (split, key)
    assert result["eval"]["temperature"] == cli_eval["temperature"]
    py_config = json.loads((py_out / "config.json").read_text())["config"]
    cli_config = json.loads((out / "config.json").read_text())["config"]
    assert py_config == cli_config


def test_a_student_of_the_first_run(teacher_run, idx_data, tmp_path):
    teacher, _ = teacher_run
    result = smoothlab.train(tmp_path / "student", teacher=teacher, temperature=2.0, data=idx_data, **SETTINGS)
    facts = result["distill"]
    assert facts["teacher"] == str(teacher) and facts["temperature"] == 2.0 and facts["form"] == "paper"
    saved = json.loads((tmp_path / "student" / "config.json").read_text())
    assert saved["distill"]["temperature"] == 2.0
    assert result["eval"]["test"]["count"] == 200
    # a student is resumed with its teacher, as `smoothlab distill --resume`; without one it is refused
    with pytest.raises(smoothlab.Error) as info:
        smoothlab.train(tmp_path / "student", resume=True)
    assert "student" in str(info.value) and "teacher" in info.value.hint


@pytest.mark.parametrize("settings, named", [
    ({"epoch": 1}, "epoch"),  # an unknown key
    ({"epochs": 0}, "epochs"),  # out of range (TrainConfig::validate)
    ({"epochs": "two"}, "epochs"),  # of the wrong type
    ({"batch_size": 1.5}, "batch_size"),
    ({"smoothing": float("nan")}, "smoothing"),
    ({"schedule": "linear"}, "schedule"),  # an unknown name
    ({"resume": True, "force": True}, "force"),
    ({"temperature": 2.0}, "temperature"),  # a student's setting without a teacher
], ids=["unknown-key", "epochs-zero", "epochs-string", "batch-float", "smoothing-nan", "schedule-unknown",
        "resume-force", "temperature-alone"])
def test_bad_settings_raise_smoothlab_error_naming_them(settings, named, tmp_path):
    out = tmp_path / "run"
    with pytest.raises(smoothlab.Error) as info:
        smoothlab.train(out, **dict(SETTINGS, **settings))
    e = info.value
    assert isinstance(e, ValueError)
    assert named in str(e).replace("-", "_"), str(e)
    assert "Exception raised from" not in str(e)
    assert not out.exists(), "refused before anything is written"


def test_unknown_key_hint_lists_the_known_ones(tmp_path):
    with pytest.raises(smoothlab.Error) as info:
        smoothlab.train(tmp_path / "run", modle="mlp")
    assert str(info.value).startswith("modle:")
    assert "model" in info.value.hint and "smoothing" in info.value.hint
