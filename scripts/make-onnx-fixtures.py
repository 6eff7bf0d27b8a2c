#!/usr/bin/python3
# Makes the ONNX import fixtures of test/onnx.test.js (run from the repository root with Debian's PyTorch:
#   /usr/bin/python3 scripts/make-onnx-fixtures.py
# needs Debian's python3-torch and python3-onnx (apt-get install python3-torch python3-onnx); onnx lists the
# exported op types, which the test checks the protobuf reader against). Fixed seeds, so re-running it
# gives the same weights; the exported bytes may differ between torch versions (1.13 made the committed ones).
# For each model it writes test/fixtures/NAME.onnx and test/fixtures/NAME.expected.json: a fixed NCHW input
# batch, PyTorch's outputs on it (eval mode) and the op types of the exported graph.
import json
import os
import sys

import onnx
import torch
import torch.nn as nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures')


def randomize_bn(m, g):
    """Non-trivial BatchNorm statistics, so that a wrong folding or eps shows in the outputs."""
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            c = mod.num_features
            with torch.no_grad():
                mod.weight.copy_(0.5 + torch.rand(c, generator=g))
                mod.bias.copy_(torch.randn(c, generator=g) * 0.1)
                mod.running_mean.copy_(torch.randn(c, generator=g) * 0.2)
                mod.running_var.copy_(0.5 + torch.rand(c, generator=g))


class SmallCNN(nn.Module):
    """conv-bn-relu-maxpool, conv-relu6 (Clip)-avgpool, flatten (NCHW order), gemm: 1×12×12 → 10."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(8, 12, 3, padding=1, bias=True)
        self.pool2 = nn.AvgPool2d(2)
        self.fc1 = nn.Linear(12 * 3 * 3, 16)
        self.fc2 = nn.Linear(16, 10)

    def forward(self, x):
        x = self.pool1(torch.relu(self.bn1(self.conv1(x))))
        x = self.pool2(nn.functional.relu6(self.conv2(x)))
        x = torch.flatten(x, 1)
        return self.fc2(torch.relu(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.b2 = nn.BatchNorm2d(cout)
        self.short = None
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.b2(self.c2(torch.relu(self.b1(self.c1(x)))))
        return torch.relu(y + (self.short(x) if self.short is not None else x))


class TinyResNet(nn.Module):
    """stem conv-bn-relu, an identity block, a strided block with a 1×1 projection, GAP, Reshape, Gemm: 3×8×8 → 5."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.block1 = Block(8, 8, 1)
        self.block2 = Block(8, 12, 2)
        self.fc = nn.Linear(12, 5)

    def forward(self, x):
        x = self.block2(self.block1(self.stem(x)))
        x = nn.functional.adaptive_avg_pool2d(x, 1)
        return self.fc(x.reshape(-1, 12))


class MiscOps(nn.Module):
    """The other paths: grouped strided conv with unequal H / W padding, padded MaxPool, padded AvgPool
    (count_include_pad=False), relu6, a flatten of a non-square map, MatMul + Add (a linear written as
    x @ W + b): 3×9×9 → 4. (No ZeroPad2d: torch 1.13 exports its pads as a shape-computing subgraph.)"""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 3, stride=2, padding=(0, 1), groups=3)
        self.pool1 = nn.MaxPool2d(3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(6, 6, 1)
        self.pool2 = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
        self.w = nn.Parameter(torch.randn(6 * 2 * 3, 4) * 0.2)  # 9×9 → conv 4×5 → pool 2×3
        self.b = nn.Parameter(torch.randn(4) * 0.1)

    def forward(self, x):
        x = self.pool1(torch.relu(self.conv1(x)))
        x = self.pool2(nn.functional.relu6(self.conv2(x)))
        return torch.flatten(x, 1) @ self.w + self.b


def export(name, model, shape, seed):
    g = torch.Generator().manual_seed(seed)
    randomize_bn(model, g)
    model.eval()
    x = torch.randn(*shape, generator=g)
    with torch.no_grad():
        y = model(x)
    path = os.path.join(OUT, name + '.onnx')
    # TrainingMode.PRESERVE (model in eval mode) keeps BatchNormalization nodes instead of folding them into
    # the convs, so the importer's BatchNormalization path is what the fixture exercises.
    torch.onnx.export(model, x, path, opset_version=13, input_names=['input'], output_names=['logits'],
                      dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}},
                      training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=True)
    ops = [n.op_type for n in onnx.load(path).graph.node]
    with open(os.path.join(OUT, name + '.expected.json'), 'w') as f:
        json.dump({'model': name, 'torch': torch.__version__, 'seed': seed, 'inputShape': list(shape),
                   'input': x.flatten().tolist(), 'outputShape': list(y.shape), 'output': y.flatten().tolist(),
                   'ops': ops}, f)
        f.write('\n')
    print(name, os.path.getsize(path), 'bytes;', ' '.join(ops))


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(1)
    export('small-cnn', SmallCNN(), (2, 1, 12, 12), 11)
    torch.manual_seed(2)
    export('tiny-resnet', TinyResNet(), (2, 3, 8, 8), 12)
    torch.manual_seed(3)
    export('misc-ops', MiscOps(), (2, 3, 9, 9), 13)
    return 0


if __name__ == '__main__':
    sys.exit(main())
