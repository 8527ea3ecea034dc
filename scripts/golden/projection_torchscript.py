#!/usr/bin/python3
"""A tiny TorchScript classifier for the `smoothlab project` tests, and the recipe to export your own.

Writes tests/golden/projection_tiny.pt and tests/golden/projection_tiny.json (features and logits of a fixed input,
computed by PyTorch: the C++ test checks that smoothlab reads the same). Run with Debian's python:
    /usr/bin/python3 scripts/golden/projection_torchscript.py

Export recipe for any PyTorch classifier (forward returns logits; `features` returns the last layer's input; the
module takes pixels in [0, 1], so normalisation lives inside it):

    class Exported(torch.nn.Module):
        def __init__(self, net, mean, std):
            super().__init__()
            self.net = net
            self.fc = net.fc                       # the last nn.Linear; smoothlab finds head / fc / classifier
            self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1))
            self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1))
        @torch.jit.export
        def features(self, x):
            x = (x - self.mean) / self.std
            return torch.flatten(self.net.avgpool(self.net.layer4(...)), 1)   # everything before fc
        def forward(self, x):
            return self.fc(self.features(x))
    torch.jit.script(Exported(net.eval(), mean, std)).save("model.pt")
"""
import json
import os

import torch
import torch.nn as nn


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(64, 6), nn.Tanh())
        self.fc = nn.Linear(6, 3)

    @torch.jit.export
    def features(self, x):
        return self.body(x)

    def forward(self, x):
        return self.fc(self.features(x))


torch.manual_seed(20190602)
model = Tiny().eval()
scripted = torch.jit.script(model)
here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "golden")
scripted.save(os.path.join(here, "projection_tiny.pt"))
x = torch.arange(2 * 64, dtype=torch.float32).reshape(2, 1, 8, 8) / 128.0
with torch.no_grad():
    golden = {"input": "arange(128).reshape(2, 1, 8, 8) / 128", "features": model.features(x).tolist(),
              "logits": model(x).tolist(), "fc_weight": model.fc.weight.tolist(), "fc_bias": model.fc.bias.tolist()}
with open(os.path.join(here, "projection_tiny.json"), "w") as f:
    json.dump(golden, f, indent=1)
    f.write("\n")
print("wrote", os.path.normpath(os.path.join(here, "projection_tiny.pt")))
