"""A small parser of the Prometheus text exposition format (what node_exporter's textfile
collector reads), strict enough that a malformed line fails the test that reads it."""

from __future__ import annotations

import re

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.eE+-]+|NaN|[+-]Inf)$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\.)*)"(?:,|$)')


def parse(text: str) -> tuple[dict[tuple[str, frozenset], float], dict[str, str]]:
    """({(metric, labels): value}, {metric: type}); every sample's metric has a HELP and a TYPE."""
    samples: dict[tuple[str, frozenset], float] = {}
    types: dict[str, str] = {}
    helps: set[str] = set()
    assert text.endswith("\n"), "the format ends with a line feed"
    for line in text.splitlines():
        if line.startswith("# HELP "):
            helps.add(line.split()[2])
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            assert kind in ("counter", "gauge", "histogram", "summary", "untyped"), line
            types[name] = kind
        else:
            found = _SAMPLE.match(line)
            assert found, f"not a sample line: {line!r}"
            name, labels, value = found.groups()
            pairs = _LABEL.findall(labels or "")
            assert "".join(f'{k}="{v}",' for k, v in pairs).rstrip(",") == (labels or ""), line
            assert name in types and name in helps, f"{name} has no TYPE or HELP before it"
            key = (name, frozenset(pairs))
            assert key not in samples, f"duplicate sample {line!r}"
            samples[key] = float(value)
    return samples, types
