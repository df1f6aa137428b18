"""Offline training of HE-friendly CNNs with PyTorch (CPU), exported as `blindfold-model/2`.

Run with Debian's PyTorch (the default `python3` here has no torch), from the repository root:

  npm run datasets:fetch                  # once: fills .cache/datasets/

  # CIFAR-10: the shipped cifar10-cnn 2.0.0 (then npm run model:seal -- DIR --dataset cifar10)
  npm run train:torch -- --threads 2 --dataset cifar10 --name cifar10-cnn --version 2.0.0 \\
      --arch "c4s2p1-64,poly,c3s2p1-128,poly,c3s1p1-128,poly,pool2,dense" --epochs 30 \\
      --out server/models/cifar10-cnn
  # Fashion-MNIST: the shipped fashion-cnn 4.0.0 (then npm run model:seal -- DIR --dataset fashion-mnist)
  npm run train:torch -- --threads 1 --dataset fashion --name fashion-cnn --version 4.0.0 \\
      --arch "c3s1p0-20,poly,spool2,dense80,bilinear" --epochs 60 --average 15 --opt adamw \\
      --seed 2 --packing image --flip false --crop-pad 1 --out server/models/fashion-cnn

  # your own images: DIR/<class>/<image>.jpg|png (or DIR/train/... and DIR/test/...), the page's
  # preprocessing (src/image, run in Node by scripts/training/folder/prepare.ts), a seeded split;
  # the export is sealed and written as ONNX too (docs/your-own-model.md)
  npm run train:torch -- --data DIR --preprocess photo --arch "c3s2p1-32,poly,pool2,dense" \\
      --epochs 40 --name NAME --out server/models/NAME

  # re-check an exported model (NumPy forward pass of the manifest semantics vs torch / accuracy)
  npm run train:torch -- --check server/models/cifar10-cnn

`npm run train:torch` is `/usr/bin/python3 scripts/training/train.py`; the same package runs as
`PYTHONPATH=scripts/training /usr/bin/python3 -m blindfold_train`. Each shipped model's
manifest.json `training` record and train.log hold the command and settings it was trained with;
docs/models.md lists the networks tried. mnist-cnn is trained by the tfjs trainer (npm run train:tfjs).

Architecture string (comma separated, one token per manifest layer, in order):
  cKsSpP-F   conv2d kernel K, stride S, padding P (zeros in normalised space), F filters;
             trained with batch-norm after it, folded into the conv at export
  square     x^2
  poly       learned per-channel a*x^2 + b*x + c (|a| >= 0.01 enforced)
  poolK      avgpool2d size K (window = stride = K)
  spoolK     staggered avgpool2d size K: channel c's windows start q = c mod K^2 pixels in, at
             (q div K, q mod K), zeros past the bottom and right edges (docs/model-format.md);
             after the first conv's activation the server sums its K^2 conv ciphertexts into one
  relu, maxpoolK
             teachers only (--teacher-arch): ReLU and max pooling have no HE form, so a student
             architecture that names them is refused
  denseN     dense with N units (hidden; trained with batch-norm after it, folded at export);
  dense      the last layer: dense with one unit per class
  bilinear   or the last layer after a denseN (N = 2 x 10 x K): logit i is the sum over k of
             x[i + 10k] * x[N/2 + i + 10k], two linear maps of the features multiplied (one level)

Distillation (--teacher-arch ARCH): a teacher of any architecture string is trained first (or
loaded from --teacher-ckpt when its settings match) and the student learns from its softened
outputs as well as the labels; the teacher is never exported.

The export writes DIR/weights.bin (float32 LE) and DIR/manifest.json exactly as
docs/model-format.md describes, and DIR/train.log. After the export the weights are reloaded from
weights.bin and a NumPy forward pass of the manifest semantics (HWC activations, permuted weights)
is compared with the torch eval-mode model on the first 200 test images (max |logit diff| < 1e-3).

Modules: data (dataset readers), folder (your own images, through the page's preprocessing), arch (architecture string), model (torch modules), train (the
training loop and a run), distill (the teacher), export (batch-norm folding, manifest), check
(NumPy reference forward pass), cli (the command line).
"""
