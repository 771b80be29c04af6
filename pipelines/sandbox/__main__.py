"""`python -m pipelines.sandbox [--port P] [--seed N] [...]`: serve the sandbox in the foreground."""

import argparse
import dataclasses

from . import serve
from .config import SandboxConfig, rate_limit_fields

parser = argparse.ArgumentParser(prog="python -m pipelines.sandbox", description=__doc__)
parser.add_argument("--port", type=int, default=8765, help="0 = any free port")
parser.add_argument("--seed", type=int, default=1)
parser.add_argument("--now", help="the frozen clock, ISO-8601 (default: now)")
parser.add_argument("--history-days", type=int)
# Each vendor's volume (config.py: `<vendor>_..._per_day`), e.g. --cinnox-calls-per-day.
for volume in (f.name for f in dataclasses.fields(SandboxConfig) if f.name.endswith("_per_day")):
    parser.add_argument(f"--{volume.replace('_', '-')}", type=float)
parser.add_argument("--no-rate-limits", action="store_true", help="lift every vendor's rate limit")
parser.add_argument("--warm", action="store_true", help="generate the whole history before serving")
args = parser.parse_args()

overrides = {k: v for k, v in vars(args).items() if v is not None and k not in ("port", "seed", "warm", "no_rate_limits")}
if args.no_rate_limits:
    overrides.update(dict.fromkeys(rate_limit_fields()))
serve(port=args.port, seed=args.seed, warm=args.warm, **overrides)
