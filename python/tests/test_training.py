"""A real PyTorch training loop with smoothlab's loss: one epoch of an MLP on a Fashion-MNIST subset, once with
smoothlab.nn.LabelSmoothingCrossEntropy(smoothing=0.1) and once with F.cross_entropy(label_smoothing=0.1), from the
same initial parameters and the same batch order. The two runs must learn equally well, and their first losses must
agree to rounding (the same parameters and data give the same trajectory until rounding differences grow)."""
import copy
import gzip
import pathlib

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import smoothlab
import smoothlab.nn

DATA = pathlib.Path("/usr/share/datasets/fashion-mnist")
FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
N_TRAIN, N_TEST, BATCH = 6000, 2000, 64


def read_idx(path, limit):
    """First `limit` items of a gzip IDX file (big-endian header: magic 0x0000 08 nd, then nd uint32 sizes)."""
    with gzip.open(path, "rb") as f:
        header = f.read(4)
        assert header[:2] == b"\x00\x00" and header[2] == 0x08, "not an unsigned-byte IDX file: {}".format(path)
        nd = header[3]
        dims = np.frombuffer(f.read(4 * nd), dtype=">u4").astype(np.int64)
        count = min(limit, int(dims[0]))
        item = int(np.prod(dims[1:])) if nd > 1 else 1
        data = np.frombuffer(f.read(count * item), dtype=np.uint8)
    return data.reshape((count,) + tuple(dims[1:]))


@pytest.fixture(scope="module")
def fashion():
    if not DATA.is_dir() or not all((DATA / name).is_file() for name in FILES.values()):
        pytest.skip("Fashion-MNIST not found in {}".format(DATA))
    xtr = read_idx(DATA / FILES["train_images"], N_TRAIN)
    ytr = read_idx(DATA / FILES["train_labels"], N_TRAIN)
    xte = read_idx(DATA / FILES["test_images"], N_TEST)
    yte = read_idx(DATA / FILES["test_labels"], N_TEST)
    assert xtr.shape == (N_TRAIN, 28, 28) and ytr.shape == (N_TRAIN,)
    assert xte.shape == (N_TEST, 28, 28) and yte.shape == (N_TEST,)
    to_x = lambda a: torch.from_numpy(a.reshape(len(a), -1).astype(np.float32) / 255.0)  # noqa: E731
    xtr_t, xte_t = to_x(xtr), to_x(xte)
    mean, std = xtr_t.mean(), xtr_t.std()
    return ((xtr_t - mean) / std, torch.from_numpy(ytr.astype(np.int64)),
            (xte_t - mean) / std, torch.from_numpy(yte.astype(np.int64)))


def train_one_epoch(model, loss_fn, x, y, order):
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    losses = []
    model.train()
    for start in range(0, len(order), BATCH):
        idx = order[start:start + BATCH]
        opt.zero_grad()
        loss = loss_fn(model(x[idx]), y[idx])
        loss.backward()
        opt.step()
        losses.append(float(loss))
    return losses


@torch.no_grad()
def accuracy(model, x, y):
    model.eval()
    return float((model(x).argmax(1) == y).double().mean())


def test_one_epoch_matches_pytorch(fashion):
    xtr, ytr, xte, yte = fashion
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    twin = copy.deepcopy(model)  # the same initial parameters
    order = torch.randperm(N_TRAIN, generator=torch.Generator().manual_seed(0))  # the same batch order

    ours = smoothlab.nn.LabelSmoothingCrossEntropy(smoothing=0.1)
    losses_ours = train_one_epoch(model, ours, xtr, ytr, order)
    losses_ref = train_one_epoch(twin, lambda z, t: F.cross_entropy(z, t, label_smoothing=0.1), xtr, ytr, order)

    assert len(losses_ours) == len(losses_ref) == -(-N_TRAIN // BATCH)
    assert all(np.isfinite(losses_ours))
    np.testing.assert_allclose(losses_ours[:20], losses_ref[:20], rtol=1e-5, atol=0)

    acc_ours, acc_ref = accuracy(model, xte, yte), accuracy(twin, xte, yte)
    assert acc_ours > 0.7 and acc_ref > 0.7, (acc_ours, acc_ref)
    assert abs(acc_ours - acc_ref) <= 0.015, (acc_ours, acc_ref)
    # the loss went down over the epoch
    assert np.mean(losses_ours[-10:]) < 0.8 * np.mean(losses_ours[:3])
