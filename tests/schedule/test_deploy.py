"""deploy/systemd/ and the cron line of docs/operations.md, as a user installs them: systemd's own
checker on the units, the service's ExecStart with its EnvironmentFile against the sandbox, the
OnFailure= unit's alert, and the cron line's command with a failure posted to the webhook."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO
from tests.schedule.conftest import FAST_ENV, SANDBOX

UNITS = REPO / "deploy" / "systemd"
UNIT_FILES = ("callhouse-nightly.service", "callhouse-nightly.timer", "callhouse-alert@.service")
INSTALL, SETTINGS = "/opt/callhouse", "/etc/callhouse/callhouse.env"
CRON_MARKER = "<!-- tests/schedule/test_deploy.py runs the command of this cron line -->"


def installed(tmp_path: Path) -> Path:
    """The project folder as the docs install it: here a folder whose .venv is the tests' venv."""
    home = tmp_path / "opt-callhouse"
    home.mkdir()
    (home / ".venv").symlink_to(Path(sys.executable).parent.parent)
    return home


def unit_copies(tmp_path: Path, home: Path, settings: Path) -> list[Path]:
    """The units with the install folder and the settings file pointed at the test's own."""
    folder = tmp_path / "units"
    folder.mkdir()
    copies = []
    for name in UNIT_FILES:
        text = (UNITS / name).read_text().replace(INSTALL, str(home)).replace(SETTINGS, str(settings))
        (folder / name).write_text(text)
        copies.append(folder / name)
    return copies


def directive(unit: Path, key: str) -> str:
    [value] = re.findall(rf"^{key}=(.*)$", unit.read_text(), re.M)
    return value


def environment_file(path: Path, values: dict[str, str]) -> Path:
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    path.chmod(0o600)
    return path


def read_environment_file(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if line and not line.startswith("#"))


def base_env() -> dict[str, str]:
    """What a service or cron gets: no SOURCES__ or CALLHOUSE_ of the test's own environment."""
    keep = ("PATH", "HOME", "LANG", "PYTHONPATH", "TMPDIR")
    return {k: v for k, v in os.environ.items() if k in keep}


def test_the_systemd_units_pass_systemd_analyze_verify(tmp_path):
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is missing: tools/system-packages.sh installs Debian's systemd package"
    home = installed(tmp_path)
    copies = unit_copies(tmp_path, home, environment_file(tmp_path / "callhouse.env", {}))
    for name, required in (
        (
            "callhouse-nightly.service",
            ("Type=oneshot", "EnvironmentFile=", "WorkingDirectory=", "TimeoutStartSec=", "OnFailure="),
        ),
        ("callhouse-nightly.timer", ("Persistent=true", "WantedBy=timers.target", "OnCalendar=")),
    ):
        text = (UNITS / name).read_text()
        assert all(f"\n{line}" in text for line in required), name
    verify = subprocess.run([analyze, "verify", "--man=no", *map(str, copies)], capture_output=True, text=True, timeout=120)
    assert verify.returncode == 0 and not verify.stderr.strip(), verify.stderr


def test_the_service_runs_the_nightly_load_and_checks_from_its_environment_file(make_sandbox, tmp_path, receiver):
    sandbox = make_sandbox(**SANDBOX)
    hook = receiver(200)
    home = installed(tmp_path)
    settings = environment_file(
        tmp_path / "callhouse.env",
        {
            **sandbox.env(),
            **FAST_ENV,
            "CALLHOUSE_WAREHOUSE": str(home / "warehouse" / "calls.duckdb"),
            "CALLHOUSE_NOW": sandbox.now().isoformat(),
            "ALERTS__WEBHOOK_URL": hook.url,
        },
    )
    service = unit_copies(tmp_path, home, settings)[0]
    assert directive(service, "EnvironmentFile") == str(settings)
    argv = shlex.split(directive(service, "ExecStart"))
    assert argv[1:3] == ["run", "--check"]
    ran = subprocess.run(
        argv,
        cwd=directive(service, "WorkingDirectory"),
        env={**base_env(), **read_environment_file(settings)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert " 0 failed, 0 warnings" in ran.stdout.strip().splitlines()[-1]
    assert hook.posts == 0  # a good night posts nothing (ALERTS__ON_SUCCESS is not set)
    status = subprocess.run(
        [str(home / ".venv" / "bin" / "callhouse"), "status", "--json"],
        cwd=home,
        env={**base_env(), **read_environment_file(settings)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    document = json.loads(status.stdout)
    assert document["views"]["older_than_last_load"] is False
    for source in ("cinnox", "bandwidth", "genesys"):
        assert document["sources"][source]["last_run"]["outcome"] == "ok"
        assert document["sources"][source]["cursor"] == sandbox.now().format("YYYY-MM-DDTHH:mm:ss.SSS") + "Z"


def test_the_on_failure_unit_alerts_only_when_callhouse_could_not(tmp_path, receiver):
    hook = receiver(200)
    home = installed(tmp_path)
    settings = environment_file(tmp_path / "callhouse.env", {"ALERTS__WEBHOOK_URL": hook.url})
    alert_unit = unit_copies(tmp_path, home, settings)[2]
    command = directive(alert_unit, "ExecStart").replace("%i", "callhouse-nightly.service")
    env = {**base_env(), **read_environment_file(settings)}

    def failed(**monitor: str) -> subprocess.CompletedProcess:
        return subprocess.run(shlex.split(command), cwd=home, env={**env, **monitor}, capture_output=True, text=True, timeout=120)

    own = failed(MONITOR_SERVICE_RESULT="exit-code", MONITOR_EXIT_CODE="exited", MONITOR_EXIT_STATUS="1")
    assert own.returncode == 0 and hook.posts == 0, own.stderr  # callhouse posted its own message
    killed = failed(MONITOR_SERVICE_RESULT="timeout", MONITOR_EXIT_CODE="killed", MONITOR_EXIT_STATUS="TERM")
    assert killed.returncode == 0, killed.stderr
    [message] = hook.bodies
    assert message["status"] == "failed" and message["command"] == "callhouse-nightly.service"
    assert message["failures"] == [
        f"callhouse-nightly.service: failed on {os.uname().nodename} (timeout, killed, TERM); "
        "see `journalctl -u callhouse-nightly.service`"
    ]
    assert message["text"] == "callhouse: " + message["failures"][0]


def test_the_cron_line_posts_a_failed_night_to_the_webhook(make_sandbox, tmp_path, receiver):
    sandbox = make_sandbox(**SANDBOX)
    hook = receiver(200)
    home = installed(tmp_path)
    settings = environment_file(
        tmp_path / "callhouse.env",
        {
            **sandbox.env(),
            **FAST_ENV,
            "SOURCES__GENESYS__CLIENT_SECRET": "not-the-secret",
            "CALLHOUSE_WAREHOUSE": str(home / "warehouse" / "calls.duckdb"),
            "CALLHOUSE_NOW": sandbox.now().isoformat(),
            "ALERTS__WEBHOOK_URL": hook.url,
        },
    )
    text = (REPO / "docs" / "operations.md").read_text()
    assert CRON_MARKER in text, "docs/operations.md lost its marked cron line"
    block = re.compile(r"^```cron\n(.*?)^```", re.S | re.M).search(text, text.index(CRON_MARKER))
    [line] = [line for line in block.group(1).splitlines() if line.strip() and not line.startswith("#")]
    command = line.split(None, 5)[5]  # after minute, hour, day of month, month, day of week
    log = tmp_path / "nightly.log"
    command = (
        command.replace(INSTALL, str(home)).replace(SETTINGS, str(settings)).replace("/var/log/callhouse/nightly.log", str(log))
    )
    ran = subprocess.run(["/bin/sh", "-c", command], env=base_env(), capture_output=True, text=True, timeout=600)
    assert ran.returncode == 1, log.read_text()
    assert "genesys: FAILED: " in log.read_text()
    [message] = hook.bodies
    assert message["command"] == "callhouse run --check" and message["exit_code"] == 1
    assert len(message["failures"]) == 1 and message["failures"][0].startswith("genesys: "), message["failures"]
    assert set(message["rows"]) == {"cinnox", "bandwidth", "genesys"} and message["rows"]["genesys"] == 0
    assert "not-the-secret" not in json.dumps(message) and "not-the-secret" not in log.read_text()
