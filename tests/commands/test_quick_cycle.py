"""The cron cycle's quick start: ``[--config PATH] --run-cycle [--quiet]`` without a
terminal is read without typer, and runs on the settings' memo while their sources are
unchanged; what it prints, records and exits with is what the full command line does."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from tests.commands.comfy_tree import age_tree, minimal_install, write_config
from watchman.commands.cli import run_app
from watchman.commands.invocation import Invocation
from watchman.commands.quick_cycle import QuickOptions, quick_options, quick_run_cycle
from watchman.environment import Environment
from watchman.home import Home
from watchman.state import settings_memo
from watchman.state.run_lock import RunLock

Outcome = tuple[int | None, str, str]


@pytest.mark.parametrize(
    ("arguments", "options"),
    [
        (["--run-cycle"], QuickOptions(None, False)),
        (["--config", "c.toml", "--run-cycle"], QuickOptions("c.toml", False)),
        (["--run-cycle", "--config=c.toml", "-q"], QuickOptions("c.toml", True)),
        (["--quiet", "--run-cycle"], QuickOptions(None, True)),
    ],
)
def test_the_cron_forms_are_read_here(arguments: list[str], options: QuickOptions) -> None:
    assert quick_options(arguments) == options


@pytest.mark.parametrize(
    "arguments",
    [
        [],
        ["--config", "c.toml"],
        ["--run-cycle", "--json"],
        ["--run-cycle", "--force"],
        ["--run-cycle", "--debug"],
        ["--run-cycle", "--offline"],
        ["--run-cycle", "--run-cycle"],
        ["--run-cycle", "-q", "--quiet"],
        ["--run-cycle", "--config"],
        ["--run-cycle", "--config", "--quiet"],
        ["--run-cycle", "--config="],
        ["--run-cycle", "--quiet=yes"],
        ["--run-cycle", "--config", "a.toml", "--config", "b.toml"],
        ["--run-cycle", "-qq"],
        ["--scheduler"],
        ["scan", "--run-cycle"],
        ["--run-cycle", "--"],
    ],
)
def test_everything_else_is_left_to_the_full_command_line(arguments: list[str]) -> None:
    assert quick_options(arguments) is None


class Tree:
    """A ComfyUI install with one model and one workflow, a config for it, and the two
    ways of running a cron cycle on it in this process."""

    def __init__(self, tmp_path: Path) -> None:
        self.folder = tmp_path
        self.root = minimal_install(tmp_path / "ComfyUI")
        (self.root / "models" / "checkpoints").mkdir(parents=True)
        (self.root / "models" / "checkpoints" / "a.safetensors").write_bytes(b"\0" * 16)
        self.workflows = self.root / "user" / "default" / "workflows"
        self.workflows.mkdir(parents=True)
        self.add_workflow("flow.json", "b.safetensors")
        self.home = Home(tmp_path / "home")
        self.config = write_config(
            tmp_path / "config.toml", self.home, self.root, "[search]", "offline = true"
        )

    def add_workflow(self, name: str, model: str) -> None:
        (self.workflows / name).write_text(
            json.dumps(
                {"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": model}}}
            )
        )

    def environment(
        self, interactive: bool = False
    ) -> tuple[Environment, io.StringIO, io.StringIO]:
        out, err = io.StringIO(), io.StringIO()
        environment = Environment(
            environ={},
            home_dir=self.folder / "user",
            cwd=self.folder,
            stdout=out,
            stderr=err,
            interactive=interactive,
        )
        return environment, out, err

    def quick(self, *options: str) -> Outcome:
        environment, out, err = self.environment()
        arguments = ["--config", str(self.config), "--run-cycle", *options]
        status = quick_run_cycle(arguments, environment)
        return status, out.getvalue(), err.getvalue()

    def full(self, *options: str) -> Outcome:
        environment, out, err = self.environment()
        with pytest.raises(SystemExit) as exit:
            run_app(["--config", str(self.config), "--run-cycle", *options], environment)
        return int(exit.value.code or 0), out.getvalue(), err.getvalue()

    def settled(self) -> None:
        """Run cycles until one may stop at its fingerprint (the memo written)."""
        assert self.quick()[0] == 0
        age_tree(self.folder)
        assert self.quick()[0] == 0  # the aged stamps are a change: in full, stamped anew

    def events(self, name: str) -> list[dict]:
        lines = self.home.structured_log.read_text(encoding="utf-8").splitlines()
        return [event for event in map(json.loads, lines) if event.get("event") == name]


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> list[Invocation]:
    """Each time an invocation validates its settings (a memo unused)."""
    seen: list[Invocation] = []
    validate = Invocation.settings

    def counted(self: Invocation):  # type: ignore[no-untyped-def]
        seen.append(self)
        return validate(self)

    monkeypatch.setattr(Invocation, "settings", counted)
    return seen


def test_an_unchanged_cycle_on_the_memo_validates_nothing_and_says_what_typer_says(
    tmp_path: Path, validations: list[Invocation]
) -> None:
    tree = Tree(tmp_path)
    tree.settled()
    assert (tree.home.state_dir / settings_memo.FILE_NAME).is_file()
    validations.clear()
    quick = tree.quick()
    assert validations == []
    full = tree.full()
    assert quick == full
    assert quick[0] == 0 and "missing models: 1" in quick[1]
    unchanged = [e for e in tree.events("stage") if e.get("phase") == "fingerprint"]
    assert len(unchanged) == 2
    assert [e["outcome"] for e in tree.events("cycle")] == ["ran"] * 4


def test_a_changed_input_runs_in_full_on_validated_settings_and_records_one_cycle(
    tmp_path: Path, validations: list[Invocation]
) -> None:
    tree = Tree(tmp_path)
    tree.settled()
    tree.quick()
    validations.clear()
    tree.add_workflow("second.json", "c.safetensors")
    status, out, err = tree.quick()
    assert status == 0 and len(validations) == 1
    assert "missing models: 2" in out
    assert err.count("Running the cycle in full") == 1  # said once, by the cycle that ran
    intake = tree.home.intake_log.read_text(encoding="utf-8")
    assert "second.json" in intake
    # The cycle handed back before writing anything: every cycle asked the guards once,
    # and every one that asked them was recorded.
    guarded = [e["cycle_id"] for e in tree.events("stage") if e.get("phase") == "guards"]
    recorded = [e["cycle_id"] for e in tree.events("cycle")]
    assert guarded == recorded and len(recorded) == 4


def test_an_edited_config_is_validated_again_and_its_memo_rewritten(
    tmp_path: Path, validations: list[Invocation]
) -> None:
    tree = Tree(tmp_path)
    tree.settled()
    memo = tree.home.state_dir / settings_memo.FILE_NAME
    before = memo.read_bytes()
    tree.config.write_text(tree.config.read_text() + "# edited\n")
    validations.clear()
    assert tree.quick()[0] == 0
    assert len(validations) == 1
    assert memo.read_bytes() != before
    validations.clear()
    assert tree.quick()[0] == 0
    assert validations == []


def test_a_wrong_config_reads_as_on_the_full_command_line(tmp_path: Path) -> None:
    tree = Tree(tmp_path)
    tree.settled()
    tree.config.write_text(tree.config.read_text().replace("min_vram_gb = 0", 'min_vram_gb = "x"'))
    quick = tree.quick()
    assert quick == tree.full()
    assert quick[0] == 2 and "schedule.min_vram_gb" in quick[2]
    tree.config.unlink()
    quick = tree.quick()
    assert quick == tree.full()
    assert quick[0] == 2 and "does not exist" in quick[2]


def test_a_held_lock_reads_as_on_the_full_command_line(tmp_path: Path) -> None:
    tree = Tree(tmp_path)
    tree.settled()
    with RunLock(tree.home.lock_file):
        quick = tree.quick()
        assert quick == tree.full()
    assert quick[0] == 3


def test_quiet_prints_nothing_for_a_cycle_that_ran(tmp_path: Path) -> None:
    tree = Tree(tmp_path)
    tree.settled()
    assert tree.quick("-q") == (0, "", "")
    assert tree.quick("--quiet") == tree.full("--quiet")


def test_a_person_at_a_terminal_gets_the_full_command_line(tmp_path: Path) -> None:
    tree = Tree(tmp_path)
    environment, _, _ = tree.environment(interactive=True)
    assert quick_run_cycle(["--config", str(tree.config), "--run-cycle"], environment) is None
