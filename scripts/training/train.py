#!/usr/bin/python3
"""Thin entry of the PyTorch trainer (package blindfold_train beside this file): `npm run train:torch`."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from blindfold_train.cli import main  # noqa: E402

main()
