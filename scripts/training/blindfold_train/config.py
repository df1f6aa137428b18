"""The settings of one training run (the command line's options, defaults resolved by cli)."""
from dataclasses import dataclass
from typing import Optional

# The exposures of --exposure (train.expose): a gain (log-uniform), a lift added after it (uniform,
# in 8-bit values; negative crushes the shadows) and a gamma applied before both (log-uniform;
# above 1 brightens the mid-tones). Photos over- and underexposed by a camera or an edit, not one
# setting.
EXPOSURE_GAIN = (1 / 1.6, 2.2)
EXPOSURE_LIFT = (-20.0, 50.0)
EXPOSURE_GAMMA = (1 / 1.5, 1.5)


def exposure_text(p):
    """The words for the exposure augmentation with probability p (the manifest's record, --help)."""
    (g0, g1), (l0, l1), (y0, y1) = EXPOSURE_GAIN, EXPOSURE_LIFT, EXPOSURE_GAMMA
    return (f'random exposure p={p} before the crop: 8-bit values v -> 255 (v/255)^(1/gamma) x gain + lift, '
            f'clipped to 0..255 and rounded; gain log-uniform in [{g0:.4g}, {g1:.4g}], lift uniform in '
            f'[{l0:g}, {l1:g}], gamma log-uniform in [{y0:.4g}, {y1:.4g}]')


@dataclass(frozen=True)
class TrainConfig:
    # a built-in data set (data.DATASETS), or None with `data`
    dataset: Optional[str]
    arch: str
    out: str
    epochs: int = 30
    name: Optional[str] = None
    version: str = '1.0.0'
    log: Optional[str] = None
    seed: int = 1
    batch: int = 128
    opt: str = 'sgd'
    lr: float = 0.05
    wd: float = 5e-4
    clip: float = 2.0
    label_smoothing: float = 0.1
    # None: the dataset's default (cifar10 4, others 2); resolved where the run starts
    crop_pad: Optional[int] = None
    # None: flip for cifar10 and fashion; MNIST never flips
    flip: Optional[bool] = None
    # random affine after the crop: rotation up to `rotate` degrees, zoom 1 +- `zoom`, sub-pixel
    # shift up to `shift` pixels (bilinear, the training set's darkest value outside the image)
    rotate: float = 0.0
    zoom: float = 0.0
    shift: float = 0.0
    # share of training images given a random exposure (train.expose: gain, lift, gamma, clipped to
    # 8 bits) before the crop; 0: none
    exposure: float = 0.0
    # end with the mean of the weights after each of the last `average` epochs (0 or 1: the last)
    average: int = 0
    teacher_arch: Optional[str] = None
    teacher_epochs: int = 15
    teacher_ckpt: Optional[str] = None
    kd_temp: float = 4.0
    kd_alpha: float = 0.9
    poly_a0: float = 0.125
    poly_b0: float = 0.5
    packing: str = 'image'
    threads: int = 2
    channels_last: bool = True
    train_limit: int = 0
    # the command line as typed, for train.log
    command: str = ''
    # your own images (folder.py): the ImageFolder layout, the page's preprocessing and input shape
    data: Optional[str] = None
    preprocess: str = 'photo'
    # HxWxC; None: folder.DEFAULT_INPUT for the preprocessing
    input_shape: Optional[str] = None
    # FIT:mass|box for ink-on-background (None: the page's default, MNIST's)
    frame: Optional[str] = None
    test_fraction: float = 0.2
    # keep the preprocessed inputs in this folder (None: a temporary one)
    prepared: Optional[str] = None
    subject: Optional[str] = None
    # ONNX file written after the export (None: OUT/NAME.onnx); folder runs only
    onnx: Optional[str] = None
    # test-split images per class copied as the model's examples (served publicly; 0: none)
    samples: int = 0

    def augmentation(self):
        """(crop padding, flip) of this run, the dataset defaults filled in (a folder of photos as
        CIFAR-10, of ink drawings as MNIST)."""
        if self.data:
            photo = self.preprocess == 'photo'
            return (self.crop_pad if self.crop_pad is not None else (4 if photo else 2),
                    self.flip if self.flip is not None else photo)
        pad = self.crop_pad if self.crop_pad is not None else (4 if self.dataset == 'cifar10' else 2)
        flip = self.flip if self.flip is not None else (self.dataset in ('cifar10', 'fashion'))
        if self.dataset == 'mnist':
            flip = False
        return pad, flip
