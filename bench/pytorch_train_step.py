#!/usr/bin/python3
"""One thread of Debian's PyTorch training a torchvision architecture on random images: SGD (momentum 0.9, lr
0.01) on cross-entropy, train mode (BatchNorm batch statistics, dropout). The peer of bench/onnx-import.js.
  /usr/bin/python3 bench/pytorch_train_step.py ARCH SIZE BATCH STEPS  →  {"imagesPerSecond": …} (after 1 warm-up step)"""
import json, sys, time
import torch, torchvision

arch, size, batch, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(1)
torch.manual_seed(0)
model = getattr(torchvision.models, arch)(weights=None).train()
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
x = torch.randn(batch, 3, size, size)
y = torch.randint(0, 1000, (batch,))
loss_fn = torch.nn.CrossEntropyLoss()


def step():
    opt.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    opt.step()
    return loss.item()


step()
t0 = time.perf_counter()
for _ in range(steps):
    step()
dt = time.perf_counter() - t0
print(json.dumps({'imagesPerSecond': steps * batch / dt, 'seconds': dt, 'torch': torch.__version__, 'threads': torch.get_num_threads()}))
