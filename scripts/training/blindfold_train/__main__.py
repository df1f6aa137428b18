"""`python3 -m blindfold_train`: the command line (see the package docstring)."""
from .cli import main

main()
