"""README.md and docs/ say what the code does: every command line they (and the service
files and the config sample) show parses, with no option where it does nothing; every
setting and variable they name exists, every file they name is one the tool writes (and
every file a cycle writes is listed), and the statuses, exit statuses and metrics they list
are the code's.

docs/benchmarks.md is measurements, not a contract, and is left out.
"""

from __future__ import annotations

import importlib
import re
import shlex
from pathlib import Path
from typing import Any, get_args

import typer
from typer.testing import CliRunner

from tests.demo_tree import prepare_demo
from watchman.commands.cli import app, usage_problem
from watchman.config import Settings, iter_fields
from watchman.config_docs import env_variable
from watchman.cycle import STAGES
from watchman.exit_status import ExitStatus
from watchman.resolve.model import Status
from watchman.stages.needs import STATUS_ORDER
from watchman.state.cycle_state import CycleRecord, CycleState, Outcome
from watchman.state.metrics import PREFIX, render_metrics

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
DOCS = [README, *sorted(p for p in (REPO / "docs").glob("*.md") if p.name != "benchmarks.md")]
CODE = "\n".join(path.read_text(encoding="utf-8") for path in (REPO / "watchman").rglob("*.py"))


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _spans(text: str) -> list[str]:
    """The inline code spans of a Markdown text (fenced blocks excluded)."""
    outside_blocks = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
    return re.findall(r"`([^`\n]+)`", outside_blocks)


def _block_lines(text: str) -> list[str]:
    """The lines of the fenced code blocks of a Markdown text."""
    blocks = re.findall(r"^```[^\n]*\n(.*?)^```", text, flags=re.M | re.S)
    return [line for block in blocks for line in block.splitlines()]


# The program as the docs write it, first on its line or span ("comfywatchman" as an
# argument, `-TaskName comfywatchman`, is not a command): bare, by path
# ("$HOME/.local/bin/comfywatchman"), or as `python -m watchman` (the Windows task).
_PROGRAM = re.compile(r'(?:^\s*|(?<=/))comfywatchman"?(?=\s|$)|-m watchman(?=\s|$)')
# Shell syntax that ends the command's own arguments.
_SHELL_END = re.compile(r"\s(?:#|>>?|2>|\||;|&&)\s.*$")


# Where else the repository shows command lines: the service files and the config sample.
_SAMPLES = [
    *sorted((REPO / "systemd").glob("*.service")),
    *sorted((REPO / "windows").glob("*.xml")),
    REPO / "config" / "default.toml",
]


def _sample_pieces(path: Path) -> list[str]:
    text = _text(path)
    if path.suffix == ".service":
        return re.findall(r"^ExecStart=(.*)$", text, flags=re.M)
    if path.suffix == ".xml":
        return [
            f"-m watchman {arguments}"
            for arguments in re.findall(r"<Arguments>-m watchman ([^<]*)</Arguments>", text)
        ]
    return _spans(text)


def _alternatives(piece: str) -> list[str]:
    """``download NAME... \\| --all [--json]`` (in a table, an escaped bar separates
    alternatives) as ``download NAME...`` and ``download --all [--json]``."""
    first, *others = piece.split("\\|")
    match = re.match(r"(.*?comfywatchman(?:\s+[a-z]+)?)\s", first)
    lead = match.group(1) if match else ""
    return [first, *(f"{lead} {other.strip()}" for other in others)]


def _command_lines() -> list[tuple[str, str]]:
    """(document, arguments) for every comfywatchman command line in the docs, the service
    files and the config sample."""
    found = []
    sources = [(path, _spans(_text(path)) + _block_lines(_text(path))) for path in DOCS]
    sources += [(path, _sample_pieces(path)) for path in _SAMPLES]
    for path, pieces in sources:
        for line in (alternative for piece in pieces for alternative in _alternatives(piece)):
            for match in _PROGRAM.finditer(line):
                rest = _SHELL_END.sub("", line[match.end() :])
                found.append((path.name, rest))
    return found


def _root() -> Any:
    """The command group (typer's own click): its options and its ``commands``."""
    root = typer.main.get_command(app)
    assert root.commands  # type: ignore[attr-defined]
    return root


def _options(command: Any) -> set[str]:
    names = {"--help"}
    for parameter in command.params:
        names.update(parameter.opts)
        names.update(getattr(parameter, "secondary_opts", ()))
    return names


def test_the_docs_show_command_lines_at_all() -> None:
    # The check below is only as good as the extraction: it must see the usual forms.
    lines = {rest.strip() for _, rest in _command_lines()}
    assert "--run-cycle --quiet" in lines
    assert any(line.startswith("resolve ") for line in lines)
    assert any(line.startswith("download ") and "--all" in line for line in lines)


def test_every_option_in_a_documented_command_line_is_one_that_command_takes() -> None:
    root = _root()
    wrong = []
    for document, rest in _command_lines():
        command = root
        for token in rest.replace("[", " ").replace("]", " ").split():
            token = token.rstrip(".,:;)")
            if command is root and token in root.commands:
                command = root.commands[token]
            elif token.startswith("-") and token not in ("-", "--"):
                option = token.split("=", 1)[0]
                if option not in _options(command):
                    wrong.append(f"{document}: {option} in `comfywatchman {rest.strip()}`")
    assert not wrong, "\n".join(wrong)


# Documented on purpose as usage errors (the README's example of an option with nothing
# to do).
_SHOWN_AS_ERRORS = {"--limit 3"}
# The words the docs write for a value, and one the command accepts there.
_PLACEHOLDERS = {"N": "3", "PATH": "p", "F": "loras", "NAME": "x.safetensors", "LIST": "qwen"}


def _arguments(rest: str) -> list[str]:
    """A documented line's arguments as a shell passes them, placeholders filled in and
    optional parts (``[--json]``) given."""
    tokens = shlex.split(rest.replace("[", " ").replace("]", " "))
    words = [token.removesuffix("...").removesuffix("…") for token in tokens]
    return [_PLACEHOLDERS.get(word, word) for word in words if word]


def _usage_problem(arguments: list[str]) -> str | None:
    """Parse ``arguments`` as ``comfywatchman`` does, the command's own check included,
    without running anything: the usage error, or None."""
    root = _root()
    try:
        context = root.make_context("comfywatchman", list(arguments))
        rest = [*context._protected_args, *context.args]
        if rest:
            name, command, rest = root.resolve_command(context, rest)
            context.invoked_subcommand = name
        problem = usage_problem(context)
        # A command named with nothing after it (`comfywatchman resolve`) is a mention in
        # prose, not a line to run: its own arguments are checked only where given.
        if problem is None and rest:
            command.make_context(name, rest, parent=context)
    except typer.BadParameter as error:
        return error.format_message()
    except typer.TyperException as error:  # click's usage errors
        return str(error)
    return problem


def test_every_documented_command_line_parses_and_every_option_in_it_means_something() -> None:
    lines = sorted({rest.strip() for _, rest in _command_lines()})
    assert {"--scheduler", "--run-cycle", "download --all --json"} <= set(lines)
    wrong = []
    for rest in lines:
        if "--help" in rest.split():
            continue  # help prints and exits as it parses; its options are checked above
        problem = _usage_problem(_arguments(rest))
        if (problem is None) == (rest in _SHOWN_AS_ERRORS):
            wrong.append(f"`comfywatchman {rest}`: {problem or 'accepted'}")
    assert not wrong, "\n".join(wrong)


def test_the_check_of_documented_lines_sees_a_line_that_does_nothing() -> None:
    assert "does nothing" in str(_usage_problem(["--list-intake", "--offline"]))
    assert "Missing argument" in str(_usage_problem(["resolve", "--json"]))
    assert _usage_problem(["--offline", "resolve", "x.safetensors", "--json"]) is None


def test_the_readme_names_the_options_that_go_before_a_command_as_the_table_does() -> None:
    from watchman.commands.usage import COMMANDS, OPTION_MODES

    text = _text(README)
    start = text.index("Options go before the command")
    sentence = text[start : text.index("After the command", start)]
    named = {span.split()[0] for span in _spans(sentence) if span.startswith("--")}
    assert named == {option for option, modes in OPTION_MODES.items() if modes & set(COMMANDS)}


# A command line the tool itself suggests, in a message, a table title or the report:
# `comfywatchman` and the words that follow it as arguments (an f-string's `{...}` one).
_SUGGESTED = re.compile(r"comfywatchman((?: (?:--?[a-z][\w-]*|[a-z]+|NAME|\{[^}]*\}))+)")


def _string_literals() -> list[str]:
    """The strings of the code (docstrings included; an f-string's fields as ``{x}``)."""
    import ast

    texts = []
    for path in (REPO / "watchman").rglob("*.py"):
        for node in ast.walk(ast.parse(_text(path))):
            if isinstance(node, ast.JoinedStr):
                texts.append(
                    "".join(
                        part.value if isinstance(part, ast.Constant) else "{x}"
                        for part in node.values
                    )
                )
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                texts.append(node.value)
    return texts


def test_every_command_line_the_tool_suggests_parses_and_means_something() -> None:
    commands = set(_root().commands)
    suggested = set()
    for text in _string_literals():
        for match in _SUGGESTED.finditer(text):
            words = match.group(1).split()
            # Prose ("comfywatchman cycle", "comfywatchman on Linux") is not a command.
            if words[0].startswith("-") or words[0] in commands:
                suggested.add(" ".join("x" if word.startswith("{") else word for word in words))
    assert {"--run-cycle --force", "download --all", "download x"} <= suggested
    wrong = [
        f"`comfywatchman {line}`: {problem}"
        for line in sorted(suggested)
        if "--help" not in line and (problem := _usage_problem(_arguments(line))) is not None
    ]
    assert not wrong, wrong


def test_every_option_named_in_the_readme_exists_in_the_cli() -> None:
    root = _root()
    known = _options(root).union(*(_options(sub) for sub in root.commands.values()))
    named = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*[a-z]", _text(README)))
    assert named - known == set()


def test_every_option_of_every_command_is_named_in_the_readme() -> None:
    root = _root()
    readme = _text(README)
    missing = [
        f"{name} {option}"
        for name, command in root.commands.items()
        for option in _options(command) - {"--help"}
        if option.startswith("--") and not re.search(re.escape(option) + r"(?![\w-])", readme)
    ]
    assert not missing, missing


def _setting_paths() -> tuple[set[str], set[str]]:
    keys = {".".join(path) for path, _ in iter_fields(Settings)}
    sections = {key.rsplit(".", 1)[0] for key in keys}
    return keys, sections


def test_every_setting_the_docs_name_exists() -> None:
    keys, sections = _setting_paths()
    roots = {section.split(".")[0] for section in sections}
    wrong = []
    for path in DOCS:
        for span in _spans(_text(path)):
            match = re.fullmatch(r"([a-z_]+(?:\.[a-z_]+)+)(?: = .*)?", span)
            name = match.group(1) if match else ""
            if name.split(".")[0] in roots and name not in keys | sections:
                wrong.append(f"{path.name}: {span}")
    assert not wrong, wrong


def test_every_comfywatchman_variable_the_docs_name_is_read() -> None:
    settings = {env_variable(tuple(path[:-1]), path[-1]) for path, _ in iter_fields(Settings)}
    wrong = []
    for path in DOCS:
        for name in set(re.findall(r"\bCOMFYWATCHMAN_[A-Z0-9_]*[A-Z0-9]\b", _text(path))):
            if "__" in name:
                if name not in settings:
                    wrong.append(f"{path.name}: {name}")
            elif (
                f'"{name}"' not in CODE
                and f'ENV_PREFIX}}{name[len("COMFYWATCHMAN_") :]}"' not in CODE
            ):
                wrong.append(f"{path.name}: {name} is read nowhere")
    assert not wrong, wrong


_HOME_FILE = re.compile(r"((?:state|log|output/reports/status)/[\w.-]+)")


def _documented_home_files(path: Path) -> set[str]:
    return {
        match.group(1)
        for span in _spans(_text(path))
        for match in [_HOME_FILE.fullmatch(span.split(" ")[0])]
        if match
    }


def _files_a_cycle_writes(tmp_path: Path) -> set[str]:
    config = prepare_demo(tmp_path / "demo")
    result = CliRunner().invoke(app, ["--config", str(config), "--run-cycle"])
    assert result.exit_code == 0, result.stderr
    home = tmp_path / "demo" / "home"
    return {path.relative_to(home).as_posix() for path in home.rglob("*") if path.is_file()}


def test_the_files_under_the_home_in_the_docs_are_those_the_tool_writes(tmp_path: Path) -> None:
    written = _files_a_cycle_writes(tmp_path)
    assert "state/cycle_state.json" in written
    # Every file a cycle leaves under the home is in operations.md's list...
    assert written - _documented_home_files(REPO / "docs" / "operations.md") == set()
    # ...and every file any document names is one a cycle wrote, or one the code names
    # whole (those a cycle writes only sometimes: the download log, the fetched node map).
    named = set().union(*(_documented_home_files(path) for path in DOCS))
    assert "state/download_log.jsonl" in named
    unknown = sorted(
        name
        for name in named - written
        if f'"{name.rsplit("/", 1)[1]}"' not in CODE and f'"{name}"' not in CODE
    )
    assert not unknown, unknown


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return text[start : end if end > 0 else None]


def test_the_readme_lists_the_workflow_statuses_in_the_code_s_order() -> None:
    section = _section(_text(README), "## Workflow statuses")
    first_paragraph = section.split("\n\n")[1]
    named = [span for span in _spans(first_paragraph) if re.fullmatch(r"[a-z_]+", span)]
    assert tuple(named) == STATUS_ORDER


def test_resolution_md_lists_every_resolution_status() -> None:
    table = _section(_text(REPO / "docs" / "resolution.md"), "## Statuses and reasons")
    named = re.findall(r"^\| `([A-Z_]+)` \|", table, flags=re.M)
    assert named == [status.value for status in Status]


def _exit_numbers(text: str) -> set[int]:
    return {int(number) for number in re.findall(r"(?<![\w.])(\d{1,3})(?= [a-z])", text)}


def test_the_run_cycle_exit_statuses_are_the_code_s_in_the_readme_operations_and_help() -> None:
    expected = {int(status) for status in ExitStatus}
    readme_row = next(
        line for line in _text(README).splitlines() if line.startswith("| `comfywatchman --run")
    )
    assert _exit_numbers(readme_row.rsplit("|", 2)[1]) == expected
    operations = _text(REPO / "docs" / "operations.md")
    paragraph = operations[operations.index("Exit statuses of `--run-cycle`:") :]
    assert _exit_numbers(paragraph[: paragraph.index("SIGTERM.")]) == expected
    help_text = " ".join(CliRunner().invoke(app, ["--help"]).stdout.split())
    sentence = help_text[help_text.index("--run-cycle Run") : help_text.index("--force")]
    assert _exit_numbers(sentence) == expected


def _numbers(text: str) -> set[int]:
    return {int(number) for number in re.findall(r"(?<![\w.])\d{1,3}(?![\w.])", text)}


def test_every_exit_status_the_readme_the_help_and_downloads_md_list_is_the_code_s() -> None:
    codes = {int(status) for status in ExitStatus}
    rows = [line for line in _text(README).splitlines() if line.startswith("| `comfywatchman ")]
    assert len(rows) == 9
    cells = {row.split(" | ")[0]: _numbers(row.rsplit("|", 2)[1]) for row in rows}
    wrong = [f"{row}: {numbers - codes}" for row, numbers in cells.items() if numbers - codes]
    # Every command can be given wrongly: each says so with 2.
    wrong += [f"{row}: no 2" for row, numbers in cells.items() if 2 not in numbers]
    assert not wrong, wrong
    root = _root()
    for name, command in root.commands.items():
        sentence = re.search(r"Exit \d.*?\.(?:\s|$)", " ".join((command.help or "").split()))
        assert sentence is None or _numbers(sentence.group(0)) <= codes, name
    downloads = _text(REPO / "docs" / "downloads.md")
    paragraph = downloads[downloads.index("Exit status: ") :].split("\n\n")[0]
    download_row = next(numbers for row, numbers in cells.items() if "download NAME" in row)
    assert _numbers(paragraph) == download_row == {0, 1, 2, 130, 143}


def _record(outcome: Any, reason: str | None = None) -> CycleRecord:
    return CycleRecord(
        cycle_id=f"c-{outcome}",
        started_at="2026-11-30T10:00:00.000Z",
        duration_seconds=3.0,
        outcome=outcome,
        reason=reason,
        counts={"workflows": 2},
    )


def test_operations_md_lists_every_metric_and_outcome_the_textfile_has() -> None:
    table = _section(_text(REPO / "docs" / "operations.md"), "## Metrics for Prometheus")
    rows = re.findall(r"^\| `([a-z_]+)(?:\{(\w+)=\"?([^}]*?)\"?\})?` \|", table, flags=re.M)
    documented = {name for name, _, _ in rows}
    labels = {name: set(values.replace("\\|", "|").split("|")) for name, _, values in rows}
    texts = [
        render_metrics(
            CycleState(
                records=(_record("ran"), _record("failed"), _record(last, "vram: 1 GiB free")),
                next_run="2026-11-30T12:00:00.000Z",
            )
        )
        for last in ("ran", "skipped")
    ]
    written = set(re.findall(rf"^{PREFIX}_([a-z_]+)", "".join(texts), flags=re.M))
    assert written == documented
    outcomes = set(get_args(Outcome))
    assert labels["last_cycle_outcome"] == outcomes
    assert set(re.findall(r'last_cycle_outcome\{outcome="(\w+)"\}', texts[0])) == outcomes


def test_the_architecture_page_draws_the_stages_in_the_cycle_s_order() -> None:
    section = _section(_text(REPO / "docs" / "architecture.md"), "## One cycle")
    drawn = next(line for line in _block_lines(section) if "─►" in line)
    names = [name.strip().replace(" ", "_") for name in drawn.split("─►")]
    # The guards and the fingerprint check come before the stages; the record after.
    assert names == ["guards", "fingerprint", *(name for name, _ in STAGES), "record"]


_UNITS = {"": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}


def test_the_reader_limits_in_reliability_md_are_the_code_s() -> None:
    table = _section(_text(REPO / "docs" / "reliability.md"), "### Limits")
    rows = [line.split(" | ") for line in table.splitlines() if line.startswith("| `MAX_")]
    assert len(rows) >= 10
    wrong = []
    for row in rows:
        names = re.findall(r"`(MAX_[A-Z_]+)`", row[0])
        values = [
            int(number.replace(",", "")) * _UNITS[unit]
            for number, unit in re.findall(r"(?<![\w.])(\d[\d,]*)(?: (KiB|MiB|GiB))?", row[1])
        ]
        module_name = re.findall(r"`([\w/]+)\.py`", row[2])[0].replace("/", ".")
        module = importlib.import_module(f"watchman.{module_name}")
        # The first numbers of the value cell are the limits, in the order of the names.
        for name, value in zip(names, values[: len(names)], strict=True):
            if getattr(module, name, None) != value:
                wrong.append(f"{name}: {value} in the doc, {getattr(module, name, None)} in code")
    assert not wrong, wrong


def _table_keys(text: str, heading: str) -> set[str]:
    """The backticked names in the first column of the table that follows ``heading``."""
    start = text.index(heading)
    rows = []
    for line in text[start:].splitlines()[1:]:
        if line.startswith("|"):
            rows.append(line)
        elif rows:
            break
    return {key for row in rows[2:] for key in re.findall(r"`(\w+)`", row.split(" | ")[0])}


def _paragraph_spans(text: str, opening: str) -> set[str]:
    start = text.index(opening)
    end = text.find("\n\n", start)
    return set(_spans(text[start : end if end > 0 else None]))


def test_report_md_names_every_key_of_the_report_a_cycle_writes(tmp_path: Path) -> None:
    import json

    from watchman.reporting.action import Action
    from watchman.resolve.model import Candidate, SearchResult

    _files_a_cycle_writes(tmp_path)
    home = tmp_path / "demo" / "home"
    report = json.loads((home / "output/reports/status/master_status.json").read_text())
    doc = _text(REPO / "docs" / "report.md")
    assert set(report) == _table_keys(doc, "The top-level keys:")
    assert set(report["summary"]) == _table_keys(doc, "`summary`:")
    # The demo has a workflow of each status, a parse error among them.
    entries = report["workflows"]
    assert set().union(*entries) == _table_keys(doc, "A workflow entry:")
    models = [model for entry in entries for model in entry["missing_models"]]
    documented = _table_keys(doc, "A missing model:")
    assert set().union(*models) <= documented
    writer = _text(REPO / "watchman" / "reporting" / "document.py")
    assert all(f'"{key}"' in writer for key in documented), "a documented key nobody writes"
    resolution = _paragraph_spans(doc, "A resolution:")
    result = SearchResult(Status.FOUND, "civitai", "x.safetensors", "loras")
    assert set(result.to_json()) <= resolution
    assert set(Candidate("x.safetensors", None, "civitai").to_json()) <= resolution
    node = _paragraph_spans(doc, "A missing node:")
    assert {"node_type", "node_ids", "cnr_id", "aux_id", "pack"} <= node
    for entry in entries:
        for need in entry["missing_nodes"]:
            assert set(need) <= node and set(need["pack"] or {}) <= node
    action_text = _paragraph_spans(doc, "An action:")
    assert set(Action("download", "t", ()).to_json()) <= action_text
    advice = "\n".join(
        _text(REPO / "watchman" / "reporting" / name)
        for name in ("advice.py", "node_advice.py", "model_advice.py")
    )
    kinds = set(re.findall(r'Action\(\s*"([a-z_]+)"', advice))
    assert kinds and kinds <= action_text
    plan = json.loads((home / "state" / "download_plan.json").read_text())
    table = _text(REPO / "docs" / "downloads.md")
    assert set().union(*plan["tasks"]) == _table_keys(table, "A task says:")


_REPO_PATH = re.compile(
    r"((?:watchman|tests|bench|tools|systemd|windows|examples|config|docs)/[\w./-]+)"
)
_TEST_NAME = re.compile(r"(?<![\w/])(test_\w+)(?:\.py)?")


def test_every_repository_path_and_test_the_docs_name_exists() -> None:
    tests_text = "\n".join(p.read_text(encoding="utf-8") for p in (REPO / "tests").rglob("*.py"))
    test_files = {p.stem for p in (REPO / "tests").rglob("test_*.py")}
    wrong = []
    for path in DOCS:
        for span in _spans(_text(path)):
            for part in span.split("::"):
                match = _REPO_PATH.fullmatch(part.split(" ")[0].rstrip(".,:;"))
                named = match.group(1) if match else ""
                # Benchmark results are written by the runs, not kept in the repository.
                generated = named.startswith("bench/results/")
                if named and not generated and not (REPO / named.rstrip("/")).exists():
                    wrong.append(f"{path.name}: {named}")
                for name in _TEST_NAME.findall(part):
                    if name not in test_files and f"def {name}(" not in tests_text:
                        wrong.append(f"{path.name}: {name}")
    assert not wrong, wrong


# Names architecture.md quotes from ComfyUI itself, not from this code.
_COMFYUI_NAMES = {"validate_inputs"}


def test_every_function_and_class_the_architecture_page_names_exists() -> None:
    defined = set(re.findall(r"^\s*(?:def|class)\s+(\w+)", CODE, flags=re.M))
    defined |= set(re.findall(r"^\s*(\w+)\s*[:=]", CODE, flags=re.M))
    named = set()
    for span in _spans(_text(REPO / "docs" / "architecture.md")):
        match = re.fullmatch(r"([A-Za-z_][\w.]*?)(?:\(\))?", span)
        # `a.b` names an attribute; `a.json`, `a.py` name files, checked elsewhere.
        if match is None or re.search(r"\.(json|jsonl|md|py|log|toml|yaml)$", span):
            continue
        for part in match.group(1).split("."):
            if "_" in part.strip("_") or re.fullmatch(r"[A-Z][a-z]+[A-Z]\w*", part):
                named.add(part)
    assert {"record_cycle", "GuardVerdict", "found_by_name"} <= named
    assert sorted(named - defined - _COMFYUI_NAMES) == []


def _defaults() -> dict[str, Any]:
    document = Settings.model_construct().model_dump(mode="json")
    values = {}
    for path, _ in iter_fields(Settings):
        value: Any = document
        for part in path:
            value = value[part]
        values[".".join(path)] = value
    return values


def _same(written: str, value: Any) -> bool:
    import json

    try:
        parsed = json.loads(written.strip("`"))
    except ValueError:
        return False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return isinstance(parsed, (int, float)) and float(parsed) == float(value)
    return bool(parsed == value)


def test_every_default_the_docs_state_is_the_settings_default() -> None:
    defaults = _defaults()
    stated = []
    for path in DOCS:
        text = _text(path)
        sentences = r"`([a-z_]+\.[a-z_.]+)`[^`(]{0,60}?\(default\s+(`[^`]+`|[^)\s,;]+)"
        stated += [(path.name, *found) for found in re.findall(sentences, text)]
        table_rows = r"^\| `([a-z_]+\.[a-z_.]+)` \| (`[^`]+`)"
        stated += [(path.name, *found) for found in re.findall(table_rows, text, flags=re.M)]
    assert len(stated) >= 10
    wrong = [
        f"{document}: {key} = {written}, default {defaults.get(key, 'no such key')!r}"
        for document, key, written in stated
        if key not in defaults or not _same(written, defaults[key])
    ]
    assert not wrong, wrong
