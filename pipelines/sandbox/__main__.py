"""`python -m pipelines.sandbox [--port P] [--seed N]`: serve the sandbox in the foreground."""

import argparse

from . import serve

parser = argparse.ArgumentParser(prog="python -m pipelines.sandbox", description=__doc__)
parser.add_argument("--port", type=int, default=8765)
parser.add_argument("--seed", type=int, default=1)
args = parser.parse_args()
serve(port=args.port, seed=args.seed)
