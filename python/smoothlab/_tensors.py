"""Argument conversion shared by the modules: numpy arrays and lists become tensors; logits in float16/bfloat16 are
computed in float32 (the library's calibration kernels read float32 or float64)."""
import numpy as _np
import torch as _torch


def as_tensor(x, name):
    if isinstance(x, _torch.Tensor):
        return x
    if isinstance(x, (_np.ndarray, list, tuple)) or _np.isscalar(x):
        return _torch.as_tensor(_np.asarray(x))
    raise TypeError(f"{name}: expected a torch.Tensor or a numpy array, got {type(x).__name__}")


def logits_f32(x, name="logits"):
    """Detached CPU logits, float16/bfloat16 widened to float32."""
    t = as_tensor(x, name).detach()
    if t.dtype in (_torch.float16, _torch.bfloat16):
        t = t.float()
    return t.cpu()


def labels_i64(x, name="labels"):
    t = as_tensor(x, name).detach().cpu()
    if t.dtype.is_floating_point or t.dtype == _torch.bool:
        from . import Error
        raise Error(f"{name}: labels must be integers, got {t.dtype}")
    return t.to(_torch.int64)
