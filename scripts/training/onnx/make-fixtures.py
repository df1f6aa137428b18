"""
Builds the ONNX fixtures of the importer's tests (scripts/training/onnx/fixtures/) with
torch.onnx.export: small HE-friendly networks covering every supported operator and pattern,
and one file per refusal. Deterministic (seeded); run from the repository root with Debian's
python3-torch and python3-onnx:

    /usr/bin/python3 scripts/training/onnx/make-fixtures.py

Each network is exported in eval mode with random but trained-looking weights (batch-norm
statistics and polynomial coefficients set away from their defaults, so folding them is tested).
"""
import os

import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures')


class Square(nn.Module):
    def forward(self, x):
        return x * x


class PowSquare(nn.Module):
    def forward(self, x):
        return torch.pow(x, 2)


class Poly(nn.Module):
    """a*x^2 + b*x + c per channel, coefficients learned (initializers in the export)."""

    def __init__(self, channels, spatial=True):
        super().__init__()
        shape = (channels, 1, 1) if spatial else (channels,)
        self.a = nn.Parameter(0.1 + 0.05 * torch.rand(shape))
        self.b = nn.Parameter(0.5 + torch.rand(shape))
        self.c = nn.Parameter(0.1 * torch.randn(shape))

    def forward(self, x):
        return self.a * x * x + self.b * x + self.c


def bn(channels):
    m = nn.BatchNorm2d(channels)
    with torch.no_grad():
        m.running_mean.uniform_(-0.3, 0.3)
        m.running_var.uniform_(0.5, 2.0)
        m.weight.uniform_(0.5, 1.5)
        m.bias.uniform_(-0.2, 0.2)
    return m


class GreySquare(nn.Module):
    """1 channel, conv with bias, x*x, Flatten, Gemm."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.fc = nn.Linear(4 * 14 * 14, 3)

    def forward(self, x):
        return self.fc(torch.flatten(Square()(self.conv(x)), 1))


class RgbStrideBnPow(nn.Module):
    """3 channels, stride 2 with padding, conv without bias + batch norm, Pow(x, 2), pool, two dense layers with batch norm between, LogSoftmax."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, stride=2, padding=1, bias=False)
        self.bn = bn(4)
        self.pool = nn.AvgPool2d(2)
        self.fc1 = nn.Linear(4 * 2 * 2, 8)
        self.bn1 = nn.BatchNorm1d(8)
        with torch.no_grad():
            self.bn1.running_mean.uniform_(-0.3, 0.3)
            self.bn1.running_var.uniform_(0.5, 2.0)
        self.fc2 = nn.Linear(8, 3)

    def forward(self, x):
        x = self.pool(PowSquare()(self.bn(self.conv(x))))
        x = self.bn1(self.fc1(torch.flatten(x, 1)))
        return F.log_softmax(self.fc2(x), dim=1)


class TwoConvsTwoPools(nn.Module):
    """two convs, batch norm after a pool (with the square: a polynomial) and after a conv, two pools (the second global), batch norm after the dense layer, Softmax."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.pool1 = nn.AvgPool2d(2)
        self.bn1 = bn(4)
        self.conv2 = nn.Conv2d(4, 6, 3, padding=1)
        self.bn2 = bn(6)
        self.fc = nn.Linear(6, 3)
        self.bn_out = nn.BatchNorm1d(3)
        with torch.no_grad():
            self.bn_out.running_var.uniform_(0.5, 2.0)

    def forward(self, x):
        x = Square()(self.bn1(self.pool1(self.conv1(x))))
        x = F.adaptive_avg_pool2d(self.bn2(self.conv2(x)), 1)
        return torch.softmax(self.bn_out(self.fc(torch.flatten(x, 1))), dim=1)


class MatMulReshape(nn.Module):
    """a zero Pad in front of the conv (added after export), a pool right after the conv, view(N, -1) with a dynamic batch, MatMul + Add, a polynomial after a dense layer; Identity, Dropout and a Constant node added after export."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, padding=1)
        self.w = nn.Parameter(0.1 * torch.randn(2 * 6 * 6, 5))
        self.b = nn.Parameter(0.1 * torch.randn(5))
        self.poly = Poly(5, spatial=False)
        self.fc = nn.Linear(5, 4)

    def forward(self, x):
        x = F.avg_pool2d(self.conv(x), 2)
        x = torch.matmul(x.view(x.size(0), -1), self.w) + self.b
        return self.fc(self.poly(x))


class CifarThreeConvs(nn.Module):
    """a CIFAR-sized network: three strided convs with batch norm and squares, one dense layer."""

    def __init__(self):
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(3, 8, 3, stride=2, padding=1), bn(8)
        self.c2, self.b2 = nn.Conv2d(8, 16, 3, stride=2, padding=1), bn(16)
        self.c3, self.b3 = nn.Conv2d(16, 16, 3, stride=2, padding=1), bn(16)
        self.fc = nn.Linear(16 * 4 * 4, 10)

    def forward(self, x):
        for c, b in ((self.c1, self.b1), (self.c2, self.b2), (self.c3, self.b3)):
            x = Square()(b(c(x)))
        return self.fc(torch.flatten(x, 1))


class GroupedDepthwise(nn.Module):
    """Conv group > 1: a grouped first conv (3 groups), a depthwise conv with stride 2 and a polynomial, a pointwise conv, batch norm after each."""

    def __init__(self):
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(3, 6, 3, padding=1, groups=3), bn(6)
        self.dw, self.b2 = nn.Conv2d(6, 6, 3, stride=2, padding=1, groups=6), bn(6)
        self.poly = Poly(6)
        self.pw, self.b3 = nn.Conv2d(6, 8, 1), bn(8)
        self.fc = nn.Linear(8 * 4 * 4, 3)

    def forward(self, x):
        x = Square()(self.b1(self.c1(x)))
        x = self.b3(self.pw(self.poly(self.b2(self.dw(x)))))
        return self.fc(torch.flatten(x, 1))


class WithRelu(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.fc = nn.Linear(2 * 6 * 6, 2)

    def forward(self, x):
        return self.fc(torch.flatten(F.relu(self.conv(x)), 1))


class WithMaxPool(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.fc = nn.Linear(2 * 3 * 3, 2)

    def forward(self, x):
        return self.fc(torch.flatten(F.max_pool2d(Square()(self.conv(x)), 2), 1))


class TooDeep(nn.Module):
    """four convs each with a square, then dense: nine levels, two more than N = 16384 holds."""

    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv2d(1, 2, 3)] + [nn.Conv2d(2, 2, 1) for _ in range(3)])
        self.fc = nn.Linear(2 * 6 * 6, 2)

    def forward(self, x):
        for conv in self.convs:
            x = Square()(conv(x))
        return self.fc(torch.flatten(x, 1))


class TwoSquares(nn.Module):
    """x^4 as two squares in a row: the engine takes one activation per linear layer."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.fc = nn.Linear(2 * 6 * 6, 2)

    def forward(self, x):
        return self.fc(torch.flatten(Square()(Square()(self.conv(x))), 1))


class TwoOutputs(GreySquare):
    def forward(self, x):
        y = self.fc(torch.flatten(Square()(self.conv(x)), 1))
        return y, y * 2


def export(model, shape, name, opset, dynamic_batch=False, folder=OUT):
    model.eval()
    path = os.path.join(folder, name + '.onnx')
    args = dict(input_names=['image'], output_names=['logits'], opset_version=opset, do_constant_folding=True)
    if dynamic_batch:
        args['dynamic_axes'] = {'image': {0: 'batch'}, 'logits': {0: 'batch'}}
    if isinstance(model, TwoOutputs):
        args['output_names'] = ['logits', 'doubled']
    torch.onnx.export(model, torch.randn(1, *shape), path, **args)
    return path


def pass_through_nodes(path):
    """Adds an Identity, a Dropout and a zero Pad (taking over the Conv's own padding) in front of
    the graph's first layer, and turns the first initializer the graph reads into a Constant
    node: what other exporters emit."""
    m = onnx.load(path)
    g = m.graph
    first = next(n for n in g.node if g.input[0].name in n.input)
    x = g.input[0].name
    ident = onnx.helper.make_node('Identity', [x], ['after_identity'], name='pass/Identity')
    drop = onnx.helper.make_node('Dropout', ['after_identity'], ['after_dropout'], name='pass/Dropout')
    pads = onnx.helper.make_tensor('pass/pads', onnx.TensorProto.INT64, [8], [0, 0, 1, 1, 0, 0, 1, 1])
    g.initializer.append(pads)
    pad = onnx.helper.make_node('Pad', ['after_dropout', 'pass/pads'], ['after_pad'], name='pass/Pad', mode='constant')
    assert first.op_type == 'Conv'
    for a in first.attribute:
        if a.name == 'pads':
            del a.ints[:]
            a.ints.extend([0, 0, 0, 0])
    first.input[list(first.input).index(x)] = 'after_pad'
    init = g.initializer[0]
    const = onnx.helper.make_node('Constant', [], [init.name], name='pass/Constant', value=init)
    g.initializer.remove(init)
    nodes = [ident, drop, pad, const] + list(g.node)
    del g.node[:]
    g.node.extend(nodes)
    onnx.checker.check_model(m)
    onnx.save(m, path)


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(7)
    export(GreySquare(), (1, 16, 16), 'grey-square-gemm', 11)
    export(RgbStrideBnPow(), (3, 8, 8), 'rgb-stride2-bn-pow-two-dense', 17)
    export(TwoConvsTwoPools(), (3, 8, 8), 'two-convs-two-pools', 13)
    pass_through_nodes(export(MatMulReshape(), (1, 12, 12), 'pad-reshape-matmul-poly', 11, dynamic_batch=True))
    export(CifarThreeConvs(), (3, 32, 32), 'cifar-three-convs', 17)

    refusals = os.path.join(OUT, 'refused')
    os.makedirs(refusals, exist_ok=True)
    export(WithRelu(), (1, 8, 8), 'relu', 11, folder=refusals)
    export(WithMaxPool(), (1, 8, 8), 'maxpool', 13, folder=refusals)
    export(TooDeep(), (1, 8, 8), 'too-deep', 17, folder=refusals)
    export(TwoSquares(), (1, 8, 8), 'two-squares', 11, folder=refusals)
    export(TwoOutputs(), (1, 16, 16), 'two-outputs', 11, folder=refusals)
    nan = GreySquare()
    with torch.no_grad():
        nan.fc.weight[1, 5] = float('nan')
    export(nan, (1, 16, 16), 'nan-weight', 11, folder=refusals)
    ext = export(GreySquare(), (1, 16, 16), 'external-data', 11, folder=refusals)
    m = onnx.load(ext)
    onnx.save_model(m, ext, save_as_external_data=True, all_tensors_to_one_file=True, location='external-data.weights', size_threshold=0)
    whole = open(os.path.join(OUT, 'grey-square-gemm.onnx'), 'rb').read()
    open(os.path.join(refusals, 'truncated.onnx'), 'wb').write(whole[: len(whole) // 2])
    open(os.path.join(refusals, 'not-onnx.onnx'), 'wb').write(b'{"this": "is a JSON file, not an ONNX model"}\n')
    torch.manual_seed(7)  # its own seed: added later, it leaves the files above as they were
    export(GroupedDepthwise(), (3, 8, 8), 'grouped-depthwise', 13)
    for root, _, files in os.walk(OUT):
        for f in sorted(files):
            print(os.path.relpath(os.path.join(root, f), OUT), os.path.getsize(os.path.join(root, f)))


if __name__ == '__main__':
    main()
