"""The systemd units and the Windows task: they say what docs/operations.md promises."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SYSTEMD = REPO / "systemd"
UNITS = ("comfywatchman.service", "comfywatchman-cycle.service", "comfywatchman-cycle.timer")
TASK = REPO / "windows" / "comfywatchman-task.xml"
NS = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}


def unit(name: str) -> configparser.RawConfigParser:
    # Unit files are INI-like; strict=False because systemd allows repeated keys.
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(SYSTEMD / name, encoding="utf-8")
    return parser


def test_the_scheduler_service_restarts_on_failure_and_keeps_the_gpu_visible() -> None:
    service = unit("comfywatchman.service")["Service"]
    assert service["Type"] in {"simple", "notify"}
    assert service["ExecStart"].endswith("comfywatchman --scheduler")
    assert service["Restart"] == "on-failure"
    assert service["NoNewPrivileges"] == "yes"
    assert "PrivateDevices" not in service  # it would hide /dev/nvidia*
    assert "DevicePolicy" not in service
    lines = (SYSTEMD / "comfywatchman.service").read_text().splitlines()
    assert "Environment=COMFYWATCHMAN_HOME=%S/comfywatchman" in lines
    assert service["StateDirectory"] == "comfywatchman"  # systemd creates the home
    assert unit("comfywatchman.service")["Install"]["WantedBy"] == "default.target"


def test_the_cycle_service_is_a_oneshot_run_cycle_that_accepts_a_held_lock() -> None:
    service = unit("comfywatchman-cycle.service")["Service"]
    assert service["Type"] == "oneshot"
    assert service["ExecStart"].endswith("comfywatchman --run-cycle")
    assert service["SuccessExitStatus"] == "3"


def test_the_timer_runs_every_two_hours_persistently_with_a_random_delay() -> None:
    timer = unit("comfywatchman-cycle.timer")["Timer"]
    assert timer["OnCalendar"] == "*-*-* 00/2:00:00"  # Persistent= needs OnCalendar=
    assert timer["Persistent"] == "true"
    assert timer["RandomizedDelaySec"]
    assert timer["Unit"] == "comfywatchman-cycle.service"
    assert timer.get("WakeSystem", "false") == "false"


@pytest.mark.parametrize("name", ["comfywatchman.service", "comfywatchman-cycle.service"])
def test_the_services_leave_the_metrics_textfile_readable_by_node_exporter(name: str) -> None:
    # node_exporter runs as its own user: an owner-only umask (0077) would hide the file.
    assert unit(name)["Service"]["UMask"] == "0022"


@pytest.mark.parametrize("name", UNITS)
def test_the_user_units_name_no_target_only_the_system_manager_has(name: str) -> None:
    section = unit(name)["Unit"]
    for key in ("After", "Wants", "Requires", "BindsTo"):
        assert "network-online.target" not in section.get(key, ""), f"{name}: {key}="
        assert "network.target" not in section.get(key, ""), f"{name}: {key}="


def test_the_timer_has_one_trigger_per_slot_and_the_docs_say_skips_wait_for_the_next() -> None:
    # --run-cycle exits 0 when a guard skips it, so a retry trigger would fire after every
    # cycle, not only after skipped ones: the timer has none and the docs say so.
    timer = unit("comfywatchman-cycle.timer")["Timer"]
    assert "OnUnitInactiveSec" not in timer and "OnUnitActiveSec" not in timer
    text = (SYSTEMD / "comfywatchman-cycle.timer").read_text()
    assert sum(line.startswith("OnCalendar=") for line in text.splitlines()) == 1
    operations = (REPO / "docs" / "operations.md").read_text(encoding="utf-8")
    assert "a skipped cycle is **not** retried sooner" in operations
    assert "noticed only" in operations  # how a cron slot after a resume is judged


def test_systemd_analyze_verify_accepts_the_units(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed here (systemd is Linux-only)")
    # ExecStart names %h/.local/bin/comfywatchman, which verify insists exists: give it a
    # home holding an executable stub there, and a runtime folder for the user manager.
    home = tmp_path / "home"
    stub = home / ".local" / "bin" / "comfywatchman"
    stub.parent.mkdir(parents=True)
    stub.write_text("#!/bin/sh\nexit 0\n")
    stub.chmod(0o755)
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    units = tmp_path / "units"
    units.mkdir()
    for name in UNITS:
        shutil.copy(SYSTEMD / name, units / name)
    environment = {**os.environ, "HOME": str(home), "XDG_RUNTIME_DIR": str(runtime)}
    finished = subprocess.run(
        [analyze, "--user", "verify", "--man=no", *(str(units / name) for name in UNITS)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    problems = finished.stdout + finished.stderr
    if finished.returncode != 0 and "Failed to initialize manager" in problems:
        pytest.skip(f"systemd-analyze cannot start a user manager here: {problems.strip()}")
    assert finished.returncode == 0, problems
    # Unknown keys are only warnings to systemd; here they are failures.
    assert not [line for line in problems.splitlines() if str(units) in line], problems


def task() -> ElementTree.Element:
    return ElementTree.parse(TASK).getroot()


def setting(name: str) -> str | None:
    return task().findtext(f"t:Settings/t:{name}", namespaces=NS)


def test_the_windows_task_starts_at_logon_and_runs_the_scheduler() -> None:
    root = task()
    assert root.find("t:Triggers/t:LogonTrigger", NS) is not None
    command = root.findtext("t:Actions/t:Exec/t:Command", namespaces=NS) or ""
    # pythonw.exe: comfywatchman.exe is a console program and would keep a window open.
    assert command.endswith("\\Scripts\\pythonw.exe")
    arguments = root.findtext("t:Actions/t:Exec/t:Arguments", namespaces=NS)
    assert arguments == "-m watchman --scheduler"


USER = "COMFYWATCHMAN-USER"


def test_the_windows_task_runs_for_the_installing_user_at_their_logon_only() -> None:
    root = task()
    trigger = root.find("t:Triggers/t:LogonTrigger", NS)
    assert trigger is not None
    # Without a UserId the trigger fires at anyone's logon: only an administrator may
    # register that. The schema orders the trigger's children: base fields, UserId, Delay.
    children = [child.tag.split("}")[1] for child in trigger]
    assert children == ["Enabled", "UserId", "Delay"]
    assert trigger.findtext("t:UserId", namespaces=NS) == USER
    principal = root.find("t:Principals/t:Principal", NS)
    assert principal is not None
    assert principal.findtext("t:UserId", namespaces=NS) == USER
    assert principal.findtext("t:LogonType", namespaces=NS) == "InteractiveToken"
    assert principal.findtext("t:RunLevel", namespaces=NS) == "LeastPrivilege"
    actions = root.find("t:Actions", NS)
    assert actions is not None and actions.get("Context") == principal.get("id")


def test_the_documented_install_replaces_the_user_stand_in_everywhere() -> None:
    operations = (REPO / "docs" / "operations.md").read_text(encoding="utf-8")
    assert f".Replace('{USER}', $user)" in operations
    assert "GetCurrent().Name" in operations
    installed = TASK.read_text(encoding="utf-8").replace(USER, "DESKTOP-1\\ada")
    root = ElementTree.fromstring(installed.encode("utf-8"))
    assert root.findtext("t:Triggers/t:LogonTrigger/t:UserId", namespaces=NS) == "DESKTOP-1\\ada"
    assert root.findtext("t:Principals/t:Principal/t:UserId", namespaces=NS) == "DESKTOP-1\\ada"
    assert USER not in installed.split("-->", 1)[1]  # nothing left outside the comment


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("StartWhenAvailable", "true"),
        ("DisallowStartIfOnBatteries", "false"),
        ("StopIfGoingOnBatteries", "false"),
        ("ExecutionTimeLimit", "PT0S"),  # no 72-hour limit
        ("MultipleInstancesPolicy", "IgnoreNew"),
        ("WakeToRun", "false"),  # the daemon never wakes the machine
    ],
)
def test_the_windows_task_has_the_required_setting(name: str, value: str) -> None:
    assert setting(name) == value
