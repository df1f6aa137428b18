"""The command line: options and defaults, then a training run or (--check DIR) a standalone check."""
import argparse
import re
import sys

from . import __doc__ as PACKAGE_DOC
from .config import TrainConfig, exposure_text
from .data import DATASETS


def _bool(s):
    return s.lower() in ('1', 'true', 'yes')


def parser():
    ap = argparse.ArgumentParser(prog='train:torch', description=PACKAGE_DOC,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--dataset', choices=sorted(DATASETS))
    ap.add_argument('--arch')
    ap.add_argument('--epochs', type=int, default=30)
    ap.add_argument('--out')
    ap.add_argument('--name', help='manifest name (default: basename of --out)')
    ap.add_argument('--version', default='1.0.0',
                    help='manifest version: bump it when a retrained model replaces a shipped one')
    ap.add_argument('--log', help='log file (default: OUT/train.log)')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--batch', type=int, default=128)
    ap.add_argument('--opt', choices=['sgd', 'adamw'], default='sgd')
    ap.add_argument('--lr', type=float, default=None, help='peak LR (default sgd 0.05, adamw 0.003)')
    ap.add_argument('--wd', type=float, default=5e-4)
    ap.add_argument('--clip', type=float, default=2.0)
    ap.add_argument('--label-smoothing', type=float, default=0.1)
    ap.add_argument('--crop-pad', type=int, default=None, help='default: cifar10 4, others 2')
    ap.add_argument('--flip', type=_bool, default=None)
    ap.add_argument('--rotate', type=float, default=0.0, metavar='DEG',
                    help='random rotation up to DEG degrees (with --zoom and --shift: one bilinear affine)')
    ap.add_argument('--zoom', type=float, default=0.0, metavar='F', help='random zoom 1 +- F')
    ap.add_argument('--shift', type=float, default=0.0, metavar='PX', help='random sub-pixel shift up to PX pixels')
    ap.add_argument('--exposure', type=float, default=0.0, metavar='P',
                    help=exposure_text('P').replace('%', '%%') + ', as over- and underexposed photos '
                         '(default 0: none)')
    ap.add_argument('--average', type=int, default=0, metavar='K',
                    help='end with the mean of the weights after each of the last K epochs, batch-norm '
                         'statistics recomputed (default 0: the last epoch\'s weights)')
    ap.add_argument('--teacher-arch', help='distil from a teacher of this architecture (training only)')
    ap.add_argument('--teacher-epochs', type=int, default=15)
    ap.add_argument('--teacher-ckpt', help='cache of the trained teacher (reused when its settings match)')
    ap.add_argument('--kd-temp', type=float, default=4.0, help='distillation temperature T')
    ap.add_argument('--kd-alpha', type=float, default=0.9, help='weight of the distillation term')
    ap.add_argument('--poly-a0', type=float, default=0.125)
    ap.add_argument('--poly-b0', type=float, default=0.5)
    ap.add_argument('--packing', choices=['image', 'patches'], default='image',
                    help='manifest packing of the first conv (the HE engine decides what it supports)')
    ap.add_argument('--threads', type=int, default=2,
                    help='torch threads; use 1 when the other core is busy (two threads on a shared '
                         'core run slower than one)')
    ap.add_argument('--channels-last', type=_bool, default=True,
                    help='channels-last memory format for training (faster on CPU)')
    ap.add_argument('--train-limit', type=int, default=0, help='use only the first N training images')
    ap.add_argument('--data', metavar='DIR',
                    help='train on your own images: DIR/<class>/<image> (or DIR/train/... and DIR/test/...), '
                         'PNG or JPEG; instead of --dataset (docs/your-own-model.md)')
    ap.add_argument('--preprocess', choices=['photo', 'ink-on-background'], default='photo',
                    help='with --data: the page\'s preprocessing the model will be served with')
    ap.add_argument('--input', dest='input_shape', metavar='HxWxC',
                    help='with --data: the network input (default photo 32x32x3, ink-on-background 28x28x1)')
    ap.add_argument('--frame', metavar='FIT:mass|box',
                    help='with --data and ink-on-background: how the page frames the object (default 20:mass, MNIST\'s)')
    ap.add_argument('--test-fraction', type=float, default=0.2,
                    help='with --data: share of each class held out for testing, picked with --seed '
                         '(unused when DIR has train/ and test/)')
    ap.add_argument('--prepared', metavar='DIR', help='with --data: keep the preprocessed inputs here')
    ap.add_argument('--subject', help='with --data: what the images show, for the model\'s description')
    ap.add_argument('--onnx', metavar='FILE', help='with --data: the ONNX file to write (default OUT/NAME.onnx)')
    ap.add_argument('--samples', type=int, default=0, metavar='N',
                    help='with --data: N test images per class become the model\'s "try an example" images '
                         '(OUT/samples/; the server shows them to anyone, so only pictures you may publish)')
    ap.add_argument('--check', metavar='DIR', help='only check an exported model')
    ap.add_argument('--check-count', type=int, default=10000)
    return ap


def config_of(args, command):
    """The run's TrainConfig from parsed options (the peak LR's default follows the optimiser)."""
    lr = args.lr if args.lr is not None else (0.05 if args.opt == 'sgd' else 0.003)
    return TrainConfig(
        dataset=args.dataset, arch=args.arch, out=args.out, epochs=args.epochs, name=args.name,
        version=args.version, log=args.log, seed=args.seed, batch=args.batch, opt=args.opt, lr=lr,
        wd=args.wd, clip=args.clip, label_smoothing=args.label_smoothing, crop_pad=args.crop_pad,
        flip=args.flip, rotate=args.rotate, zoom=args.zoom, shift=args.shift, exposure=args.exposure,
        average=args.average,
        teacher_arch=args.teacher_arch, teacher_epochs=args.teacher_epochs,
        teacher_ckpt=args.teacher_ckpt, kd_temp=args.kd_temp, kd_alpha=args.kd_alpha,
        poly_a0=args.poly_a0, poly_b0=args.poly_b0, packing=args.packing, threads=args.threads,
        channels_last=args.channels_last, train_limit=args.train_limit, command=command,
        data=args.data, preprocess=args.preprocess, input_shape=args.input_shape, frame=args.frame,
        test_fraction=args.test_fraction, prepared=args.prepared, subject=args.subject, onnx=args.onnx,
        samples=args.samples)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    ap = parser()
    args = ap.parse_args(argv)
    if args.check:
        import torch
        from .check import check_model
        torch.set_num_threads(args.threads)
        check_model(args.check, args.check_count)
        return
    if not ((args.dataset or args.data) and args.arch and args.out):
        ap.error('--dataset or --data, --arch and --out are required (or --check DIR)')
    if args.dataset and args.data:
        ap.error('--dataset and --data exclude each other')
    if args.input_shape and not re.fullmatch(r'\d+x\d+x[13]', args.input_shape):
        ap.error('--input must be HxWxC with C 1 or 3, e.g. 32x32x3')
    if not 0 <= args.exposure <= 1:
        ap.error('--exposure must be between 0 and 1')
    if not 0 <= args.average <= args.epochs:
        ap.error('--average must be between 0 and --epochs')
    if not 0 < args.test_fraction < 1:
        ap.error('--test-fraction must be between 0 and 1')
    from .pipeline import run
    run(config_of(args, ' '.join([sys.argv[0], *argv])))
