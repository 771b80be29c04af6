"""The CINNOX tenant's staff: a fixed roster in four departments, so per-agent reports make sense."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data import derive_seed, hex_ids, uuids

DEPARTMENTS = (
    ("Sales", "+85230018001"),
    ("Support", "+85230018002"),
    ("Billing", "+85230018003"),
    ("Operations", "+85230018004"),
)
_ROLE_NAMES = {"ADMIN": "Administrator", "SUPERVISOR": "Supervisor", "AGENT": "Agent"}
# name, department index, role
_ROSTER = (
    ("Alice Chan", 0, "SUPERVISOR"),
    ("Brian Wong", 0, "AGENT"),
    ("Carmen Lee", 0, "AGENT"),
    ("Daniel Ho", 0, "AGENT"),
    ("Eva Lam", 0, "AGENT"),
    ("Felix Cheung", 1, "SUPERVISOR"),
    ("Grace Ng", 1, "AGENT"),
    ("Henry Yip", 1, "AGENT"),
    ("Iris Tsang", 1, "AGENT"),
    ("Jason Leung", 1, "AGENT"),
    ("Karen Fung", 1, "AGENT"),
    ("Leo Kwok", 2, "SUPERVISOR"),
    ("Mandy Chow", 2, "AGENT"),
    ("Nathan Siu", 2, "AGENT"),
    ("Olivia Tam", 2, "AGENT"),
    ("Peter Mak", 3, "ADMIN"),
    ("Queenie Lau", 3, "SUPERVISOR"),
    ("Ryan Tse", 3, "AGENT"),
    ("Sophie Yuen", 3, "AGENT"),
    ("Tommy Kan", 3, "ADMIN"),
)
# How often each role is on a call, relative to an agent.
_CALL_WEIGHT = {"AGENT": 1.0, "SUPERVISOR": 0.35, "ADMIN": 0.08}


@dataclass(frozen=True)
class Staff:
    eid: str
    first: str
    last: str
    display: str
    department: str
    department_id: str
    role: str
    role_name: str
    did: str  # the member's direct number
    hotline: str  # the department's published number, used for offnet calls
    call_weight: float


def staff_roster(seed: int) -> list[Staff]:
    rng = np.random.default_rng(derive_seed(seed, "cinnox", "roster"))
    eids = uuids(rng, len(_ROSTER))
    dept_ids = hex_ids(rng, len(DEPARTMENTS), 12)
    out = []
    for k, ((name, d, role), eid) in enumerate(zip(_ROSTER, eids)):
        first, last = name.split(" ")
        out.append(
            Staff(
                eid,
                first,
                last,
                name,
                DEPARTMENTS[d][0],
                dept_ids[d],
                role,
                _ROLE_NAMES[role],
                f"+8523001{8100 + k:04d}",
                DEPARTMENTS[d][1],
                _CALL_WEIGHT[role],
            )
        )
    return out
