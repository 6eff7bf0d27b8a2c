#!/usr/bin/python3
"""Exports torchvision architectures to ONNX with random weights (a fixed seed: no download, pretrained=False)
plus PyTorch's own outputs on a saved input, for checking qwasm's ONNX import (test/onnx-torchvision.test.js,
bench/onnx-import.js). Needs Debian's python3-torch and python3-torchvision (/usr/bin/python3).

An architecture may carry its own settings: NAME[@SIZE][+bn][#OPSET], e.g. resnet50@32 (32 px), resnet18+bn
(BatchNormalization nodes kept), mobilenet_v3_small#14 (opset 14: HardSwish as one op).
For each architecture it writes, in --out (files named NAME, NAME-bn, NAME-opsetN):
  <arch>.onnx          the model as torch.onnx.export writes it (eval mode; opset --opset)
  <arch>.input.f32     the input, NCHW float32 little-endian
  <arch>.output.f32    PyTorch's output (logits) for it, eval mode
  <arch>.json          shapes, seed, versions, parameter count, export and forward times
Random-init BatchNorm running statistics (mean 0, var 1) do not match the activations of a random network
(deep nets then blow up or vanish), so by default the statistics are first estimated on --calib batches of
random inputs (train-mode forward passes, cumulative average): the exported net has the activation scales
of a trained one.
"""
import argparse, copy, json, re, sys, time

ARCHS = ['resnet18', 'resnet50', 'mobilenet_v2', 'mobilenet_v3_small', 'squeezenet1_1', 'efficientnet_b0']


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--arch', nargs='+', default=ARCHS, help=f'NAME[@SIZE][+bn][#OPSET] with NAME one of {", ".join(ARCHS)} (default: all)')
    ap.add_argument('--size', type=int, default=224, help='input height = width in pixels (default 224)')
    ap.add_argument('--batch', type=int, default=2, help='batch of the saved input/output pair (default 2)')
    ap.add_argument('--classes', type=int, default=1000, help='classifier outputs (default 1000)')
    ap.add_argument('--seed', type=int, default=0, help='torch.manual_seed for weights and inputs (default 0)')
    ap.add_argument('--opset', type=int, default=13, help='ONNX opset (default 13)')
    ap.add_argument('--calib', type=int, default=2, help='batches of random inputs that set BatchNorm statistics (0: keep mean 0 / var 1)')
    ap.add_argument('--keep-batchnorm', action='store_true', help='keep BatchNormalization nodes (default: PyTorch folds them into the convs in eval export)')
    ap.add_argument('--out', required=True, help='output folder')
    a = ap.parse_args()
    try:
        import torch, torchvision
    except ImportError as e:
        sys.exit(f'export-torchvision: {e}: install Debian\'s python3-torch and python3-torchvision (apt-get install python3-torch python3-torchvision)')
    import os
    os.makedirs(a.out, exist_ok=True)
    torch.set_num_threads(1)
    for spec in a.arch:
        m = re.fullmatch(r'([a-z0-9_]+)(?:@(\d+))?(\+bn)?(?:#(\d+))?', spec)
        if not m or m.group(1) not in ARCHS:
            sys.exit(f'export-torchvision: --arch {spec!r}: expected NAME[@SIZE][+bn][#OPSET] with NAME one of {", ".join(ARCHS)}')
        arch, size = m.group(1), int(m.group(2) or a.size)
        keep_bn, opset = bool(m.group(3)) or a.keep_batchnorm, int(m.group(4) or a.opset)
        tag = arch + ('-bn' if m.group(3) else '') + (f'-opset{opset}' if m.group(4) else '')
        torch.manual_seed(a.seed)
        model = getattr(torchvision.models, arch)(weights=None, num_classes=a.classes)
        if a.calib:
            for m in model.modules():
                if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                    m.reset_running_stats()
                    m.momentum = None  # cumulative average over the calibration batches
            model.train()
            with torch.no_grad():
                for _ in range(a.calib):
                    model(torch.randn(8, 3, size, size))
        model.eval()
        x = torch.randn(a.batch, 3, size, size)
        with torch.no_grad():
            t0 = time.perf_counter(); y = model(x); fwd = time.perf_counter() - t0
            # PyTorch's own float32 rounding: its max |f32 − f64| / max |f64| (a deep random net at a tiny input
            # can be ill-conditioned; an importer cannot be expected to beat this)
            y64 = copy.deepcopy(model).double()(x.double())
            own = ((y.double() - y64).abs().max() / y64.abs().max()).item()
        path = os.path.join(a.out, f'{tag}.onnx')
        mode = torch.onnx.TrainingMode.PRESERVE if keep_bn else torch.onnx.TrainingMode.EVAL
        t0 = time.perf_counter()
        torch.onnx.export(model, x, path, opset_version=opset, input_names=['input'], output_names=['logits'],
                          dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}}, do_constant_folding=True, training=mode)
        exp = time.perf_counter() - t0
        x.numpy().astype('<f4').tofile(os.path.join(a.out, f'{tag}.input.f32'))
        y.numpy().astype('<f4').tofile(os.path.join(a.out, f'{tag}.output.f32'))
        meta = {
            'arch': arch, 'file': tag, 'inputShape': list(x.shape), 'outputShape': list(y.shape), 'seed': a.seed, 'opset': opset,
            'keepBatchnorm': keep_bn, 'calib': a.calib, 'parameters': sum(p.numel() for p in model.parameters()),
            'torch': torch.__version__, 'torchvision': torchvision.__version__,
            'torchF32RelError': own, 'exportSeconds': round(exp, 3), 'forwardSeconds': round(fwd, 3), 'onnxBytes': os.path.getsize(path),
        }
        with open(os.path.join(a.out, f'{tag}.json'), 'w') as f:
            json.dump(meta, f)
        print(json.dumps(meta), flush=True)


if __name__ == '__main__':
    main()
