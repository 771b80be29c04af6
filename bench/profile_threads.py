"""Run `callhouse` in this process under cProfile, in every thread (plain `python -m cProfile`
only sees the main thread, so work on worker threads shows up as `lock.acquire`).

    python -m bench.profile_threads OUT.prof backfill --source cinnox --start ... --end ...

Writes the merged stats of all threads to OUT.prof (for `pstats`).
"""

from __future__ import annotations

import cProfile
import sys
import threading


def main() -> int:
    out, argv = sys.argv[1], sys.argv[2:]
    profiles: list[cProfile.Profile] = []

    def start_in_thread(*_: object) -> None:
        # The first profiling event of a new thread swaps this hook for a profiler of its own.
        profile = cProfile.Profile()
        profiles.append(profile)
        profile.enable()

    threading.setprofile(start_in_thread)
    main_profile = cProfile.Profile()
    main_profile.enable()
    try:
        from pipelines.cli import main as callhouse

        code = callhouse(argv)
    finally:
        main_profile.disable()
        threading.setprofile(None)
        main_profile.create_stats()
        import pstats

        stats = pstats.Stats(main_profile)
        for profile in profiles:
            profile.create_stats()
            if profile.stats:
                stats.add(profile)
        stats.dump_stats(out)
    return code


if __name__ == "__main__":
    sys.exit(main())
