"""`python -m pipelines.sandbox [--port P] [--seed N] [...]`: serve the sandbox in the foreground."""

import argparse

from . import serve

parser = argparse.ArgumentParser(prog="python -m pipelines.sandbox", description=__doc__)
parser.add_argument("--port", type=int, default=8765, help="0 = any free port")
parser.add_argument("--seed", type=int, default=1)
parser.add_argument("--now", help="the frozen clock, ISO-8601 (default: now)")
parser.add_argument("--history-days", type=int)
parser.add_argument("--cinnox-calls-per-day", type=float)
parser.add_argument("--bandwidth-calls-per-day", type=float)
parser.add_argument("--genesys-dialogs-per-day", type=float)
parser.add_argument("--no-rate-limits", action="store_true", help="lift the Bandwidth and Genesys limits")
parser.add_argument("--warm", action="store_true", help="generate the whole history before serving")
args = parser.parse_args()

overrides = {k: v for k, v in vars(args).items() if v is not None and k not in ("port", "seed", "warm", "no_rate_limits")}
if args.no_rate_limits:
    overrides.update(bandwidth_rps=None, genesys_rpm=None)
serve(port=args.port, seed=args.seed, warm=args.warm, **overrides)
