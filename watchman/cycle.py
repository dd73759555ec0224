"""One readiness cycle: the only place that knows the order of the stages.

guards -> inventory -> caches -> workflows (intake, parse) -> needs -> node packs ->
resolve -> report -> state. Each stage takes data and returns frozen data; files are read
and written here, at the edges. One workflow that cannot be read, or one backend that
fails, becomes a recorded error and the cycle goes on.
"""

from __future__ import annotations

import gc
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import httpx

from watchman import __version__
from watchman.clocks import utc_iso
from watchman.comfy.workflow import reader_failure
from watchman.config import ScheduleSettings, Settings
from watchman.environment import Environment, expand_user
from watchman.errors import BackendError, StateError, WatchmanError
from watchman.home import Home
from watchman.printable import printable
from watchman.remote.comfyui_server import ComfyUIServer
from watchman.reporting.document import (
    WorkflowReport,
    build_report,
    stable_part,
    workflow_entry,
)
from watchman.reporting.markdown import render_markdown
from watchman.services import Services, build_services, with_overrides
from watchman.stages.guards import GuardVerdict, evaluate_guards
from watchman.stages.intake import detect_changes, last_seen_hashes, record_intake
from watchman.stages.inventory.listing import (
    TreeListing,
    file_identity,
    load_listing,
    save_listing,
)
from watchman.stages.inventory.models import ModelInventory, scan_models
from watchman.stages.inventory.nodes import NodeInventory, scan_node_inventory
from watchman.stages.needs import ChoicesLookup, WorkflowNeeds, assess_workflow
from watchman.stages.node_packs import pack_finder
from watchman.stages.resolve import resolve_missing_models
from watchman.stages.workflows import (
    IMAGE_SUFFIXES,
    WORKFLOW_SUFFIXES,
    WorkflowScan,
    load_workflow_cache,
    scan_watched_folders,
)
from watchman.state import fingerprint, metrics
from watchman.state.cycle_state import (
    CycleRecord,
    Outcome,
    append_record,
    load_cycle_state,
    update_guard_memory,
)
from watchman.state.safe_files import (
    RunLock,
    dumps_json,
    read_json_state,
    remove_stale_temp_files,
    set_aside_corrupt,
    write_file_set,
    write_json_if_changed,
)
from watchman.state.structured_log import log_event

logger = logging.getLogger(__name__)

GuardEvaluator = Callable[[ScheduleSettings, Mapping[str, Any]], GuardVerdict]


class CycleInterrupted(WatchmanError):
    """A stop was requested; the cycle ends at a stage boundary with nothing half-written."""


@dataclass(frozen=True)
class CycleResult:
    """What one cycle did: its record, where the report is, and the report's summary."""

    record: CycleRecord
    report_json: Path | None = None
    report_markdown: Path | None = None
    summary: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "cycle_id": self.record.cycle_id,
            "started_at": self.record.started_at,
            "duration_seconds": self.record.duration_seconds,
            "outcome": self.record.outcome,
            "reason": self.record.reason,
            "counts": self.record.counts,
            "report_json": str(self.report_json) if self.report_json else None,
            "report_markdown": str(self.report_markdown) if self.report_markdown else None,
            "summary": self.summary,
        }


class _Stages:
    """Times each stage and writes one structured log line per stage."""

    def __init__(
        self,
        home: Home,
        cycle_id: str,
        stop_event: threading.Event | None,
        on_stage: Callable[[str], None] | None = None,
    ) -> None:
        self.home = home
        self.cycle_id = cycle_id
        self.stop_event = stop_event
        self.on_stage = on_stage

    @contextmanager
    def stage(self, phase: str, **fields: Any) -> Iterator[dict[str, Any]]:
        if self.stop_event is not None and self.stop_event.is_set():
            raise CycleInterrupted(f"stop requested before the {phase} stage")
        if self.on_stage is not None:
            self.on_stage(phase)
        started = time.monotonic()
        extra: dict[str, Any] = dict(fields)
        yield extra
        log_event(
            self.home.structured_log,
            "stage",
            cycle_id=self.cycle_id,
            phase=phase,
            duration_seconds=round(time.monotonic() - started, 4),
            **extra,
        )


def _new_cycle_id(started_at: str) -> str:
    compact = started_at.replace("-", "").replace(":", "").replace(".", "")[:15]
    return f"{compact}-{secrets.token_hex(3)}"


def _watched_folders(settings: Settings, root: Path, home_dir: Path) -> list[tuple[Path, str]]:
    folders = []
    for watched in settings.workflows.folders:
        path = expand_user(watched.path, home_dir)
        folders.append((path if path.is_absolute() else root / path, watched.source))
    return folders


def _name_in_folder(path: Path, folders: Sequence[tuple[Path, str]]) -> str:
    """Return ``path`` relative to the watched folder holding it (posix), else in full."""
    for folder, _ in folders:
        try:
            return path.relative_to(folder).as_posix()
        except ValueError:
            continue
    return str(path)


def _installed_node_types(
    server: ComfyUIServer | None, nodes: NodeInventory
) -> tuple[frozenset[str], str, ChoicesLookup | None]:
    """Return the installed node types, where they came from (server or static), and the
    server's file names per loader input when it answered."""
    if server is not None:
        try:
            info = server.object_info()
        except BackendError as error:
            logger.info("ComfyUI server not used (%s); using the static node inventory.", error)
        else:
            return frozenset(info.node_types), "object_info", info.choices_for
    return nodes.enabled_classes(), "static", None


def _previous_node_inventory(home: Home) -> NodeInventory | None:
    """The last node inventory, to reuse unchanged packs; None when absent or unusable."""
    document = read_json_state(home.custom_nodes_cache, 1)
    if document is None:
        return None
    try:
        return NodeInventory.from_cache_document(document)
    except StateError as error:
        # Valid JSON of the right version but the wrong shape (e.g. edited by hand).
        set_aside_corrupt(home.custom_nodes_cache, str(error))
        return None


def _write_report(home: Home, document: dict[str, Any]) -> bool:
    """Write the report when anything but its timestamps changed, or when the Markdown is
    not the JSON's cycle's; return True if written. Both are replaced as one set."""
    previous = read_json_state(home.report_json, int(document["schema_version"]))
    if (
        previous is not None
        and stable_part(previous) == stable_part(document)
        and _markdown_is_of_cycle(home.report_markdown, str(previous.get("cycle_id")))
    ):
        return False
    markdown = printable(render_markdown(document))
    write_file_set(
        [
            (home.report_markdown, markdown.encode("utf-8")),
            (home.report_json, dumps_json(document)),
        ],
        tag=str(document["cycle_id"]),
    )
    return True


def _markdown_is_of_cycle(path: Path, cycle_id: str) -> bool:
    try:
        return f"(cycle {cycle_id})" in path.read_text("utf-8", errors="replace")
    except OSError:
        return False


def _assess_each(
    scan: WorkflowScan,
    models: ModelInventory,
    installed: frozenset[str],
    choices: ChoicesLookup | None,
) -> tuple[dict[str, WorkflowNeeds], WorkflowScan]:
    """Assess every parsed workflow; one whose assessment fails unexpectedly becomes a
    parse error of its own (the last-resort boundary per workflow), never the cycle's.

    Returns the needs by path and the scan with such workflows turned into errors (its
    ``failures`` then name the files and exception types of this stage only).
    """
    needs: dict[str, WorkflowNeeds] = {}
    stored_list = []
    failures = []
    for stored in scan.workflows:
        if stored.parsed is not None:
            key = str(stored.watched.path)
            try:
                needs[key] = assess_workflow(stored.parsed, models, installed, choices)
            except Exception as surprise:
                failure = reader_failure(printable(key), surprise)
                failures.append({"path": printable(key), "exception": type(surprise).__name__})
                stored = replace(stored, parsed=None, error=str(failure))
        stored_list.append(stored)
    return needs, replace(scan, workflows=tuple(stored_list), failures=tuple(failures))


def run_cycle(
    settings: Settings,
    home: Home,
    *,
    comfyui_root: Path | None = None,
    offline: bool = False,
    backends: Sequence[str] | None = None,
    trigger: str = "run-cycle",
    stop_event: threading.Event | None = None,
    guard_evaluator: GuardEvaluator | None = None,
    http_client: httpx.Client | None = None,
    on_stage: Callable[[str], None] | None = None,
    environment: Environment | None = None,
    services: Services | None = None,
) -> CycleResult:
    """Run one guarded cycle and record it.

    Args:
        settings: the loaded settings.
        home: where state, reports and logs go.
        comfyui_root: overrides ``settings.comfyui.root``.
        offline: use known sources only, never a remote backend.
        backends: backend order for this run (None: ``search.backend_order``).
        trigger: ``run-cycle`` or ``scheduler``, recorded with the cycle.
        stop_event: when set, the cycle ends at the next stage boundary.
        guard_evaluator: replaces the real guards (tests, the scheduler's clock).
        http_client: the client for the ComfyUI server, node map and backends.
        on_stage: called with each stage's name as it starts (a progress display).
        environment: the process's surroundings (variables, home and working folders),
            for finding ComfyUI when no root is configured; None: nothing of the machine
            (no variables, detection from the tool's home only).
        services: the outside world, wired once by the command (``build_services``);
            when given, ``offline``, ``backends``, ``http_client`` and ``environment``
            are taken from it. None: built here from the other arguments, closed after.

    Returns:
        The cycle's result; a skipped or failed cycle is a result, not an exception.

    Raises:
        LockHeldError: another cycle holds the run lock.
        ComfyUINotFoundError: no ComfyUI install is configured or found.
    """
    home.ensure()
    if services is None:
        with build_services(
            with_overrides(settings, offline=offline or None, backends=backends),
            environment or Environment(environ={}, home_dir=home.root, cwd=home.root),
            home,
            stop_event=stop_event,
            client=http_client,
        ) as own:
            return run_cycle(
                own.settings,
                home,
                comfyui_root=comfyui_root,
                trigger=trigger,
                stop_event=stop_event,
                guard_evaluator=guard_evaluator,
                on_stage=on_stage,
                services=own,
            )
    settings = services.settings
    services.new_run()
    clock = services.environment.clock
    with RunLock(home.lock_file):
        remove_stale_temp_files(home.root)
        started_at = utc_iso(clock.wall())
        started = time.monotonic()
        cycle_id = _new_cycle_id(started_at)
        root = services.find_comfyui_root(comfyui_root)

        def finish(
            outcome: Outcome, reason: str | None, counts: dict[str, int], **result: Any
        ) -> CycleResult:
            record = CycleRecord(
                cycle_id=cycle_id,
                started_at=started_at,
                duration_seconds=round(time.monotonic() - started, 3),
                outcome=outcome,
                reason=reason,
                counts=counts,
                trigger=trigger,
            )
            state = append_record(home.cycle_state, record)
            log_event(
                home.structured_log,
                "cycle",
                cycle_id=cycle_id,
                phase="cycle",
                outcome=outcome,
                reason=reason,
                trigger=trigger,
                duration_seconds=record.duration_seconds,
                workflows_scanned=counts.get("workflows", 0),
                resolved=counts.get("resolved", 0),
                uncertain=counts.get("uncertain", 0),
                errors=counts.get("errors", 0),
                counts=counts,
            )
            if settings.metrics.textfile is not None:
                try:
                    metrics.write_metrics_textfile(settings.metrics.textfile, state)
                except OSError as error:
                    logger.warning(
                        "Cannot write metrics to %s: %s", settings.metrics.textfile, error
                    )
            return CycleResult(record=record, **result)

        state = load_cycle_state(home.cycle_state)
        verdict = (guard_evaluator or partial(evaluate_guards, clock=clock))(
            settings.schedule, state.guard_memory
        )
        if dict(verdict.memory) != dict(state.guard_memory):
            update_guard_memory(home.cycle_state, dict(verdict.memory))
        log_event(
            home.structured_log,
            "stage",
            cycle_id=cycle_id,
            phase="guards",
            allowed=verdict.allowed,
            reason=verdict.reason,
            checks=[
                {"name": c.name, "passed": c.passed, "detail": c.detail} for c in verdict.checks
            ],
        )
        if not verdict.allowed:
            logger.info("Cycle skipped: %s", verdict.reason)
            return finish("skipped", verdict.reason, {})
        now_ns = int(clock.wall() * 1e9)
        inputs_digest = fingerprint.settings_digest(
            __version__, settings.model_dump_json(), str(root)
        )
        saved = fingerprint.load(home.fingerprint)
        why = fingerprint.check(saved, inputs_digest, now_ns)
        if why is None and saved is not None:
            return _unchanged_cycle(home, cycle_id, saved, finish)
        logger.info("Running the cycle in full: %s.", why)
        cycle_fingerprint = fingerprint.CycleFingerprint(home.fingerprint, inputs_digest, now_ns)
        # The inventory keeps ~100k small objects alive through the cycle; the cyclic
        # collector would rescan them on every allocation burst (a third of an idle
        # cycle's time at 100k models). Nothing here builds reference cycles worth
        # collecting mid-cycle, so collect once afterwards instead.
        collector_was_on = gc.isenabled()
        gc.disable()
        try:
            return _run_stages(
                settings,
                home,
                root,
                cycle_id,
                started_at,
                finish,
                services=services,
                stop_event=stop_event,
                on_stage=on_stage,
                cycle_fingerprint=cycle_fingerprint,
            )
        except CycleInterrupted as error:
            # A requested stop is not a failure: nothing was half-written, and the next
            # cycle starts from the same state.
            return finish("skipped", f"interrupted: {error}", {})
        except (WatchmanError, OSError) as error:
            logger.error("Cycle failed: %s", error)
            fingerprint.forget(home.fingerprint)  # the next cycle runs in full
            return finish("failed", str(error), {})
        finally:
            if collector_was_on:
                gc.enable()


def _run_stages(
    settings: Settings,
    home: Home,
    root: Path,
    cycle_id: str,
    started_at: str,
    finish: Callable[..., CycleResult],
    *,
    services: Services,
    stop_event: threading.Event | None,
    on_stage: Callable[[str], None] | None,
    cycle_fingerprint: fingerprint.CycleFingerprint,
) -> CycleResult:
    stages = _Stages(home, cycle_id, stop_event, on_stage)
    offline = services.offline
    now_ns = cycle_fingerprint.now_ns
    restat_interval_ns = int(settings.comfyui.full_restat_hours * 3600e9)
    with stages.stage("inventory") as info:
        # Stamped before any stage reads them, so a change made meanwhile shows next time.
        watched_folders = _watched_folders(settings, root, services.environment.home_dir)
        input_tree = TreeListing.for_cycle(
            load_listing(home.input_listing_cache), now_ns, restat_interval_ns
        )
        cycle_fingerprint.observe_inputs(
            input_tree,
            *fingerprint.cycle_input_trees(
                root,
                [folder for folder, _ in watched_folders],
                WORKFLOW_SUFFIXES + (IMAGE_SUFFIXES if settings.workflows.include_images else ()),
                [
                    expand_user(path, services.environment.home_dir)
                    for path in settings.comfyui.extra_model_paths
                ],
            ),
        )
        save_listing(home.input_listing_cache, input_tree.finish())
        tree = TreeListing.for_cycle(load_listing(home.listing_cache), now_ns, restat_interval_ns)
        models: ModelInventory = scan_models(
            root,
            settings.comfyui.extra_model_paths,
            environ=services.environment.environ,
            home_dir=services.environment.home_dir,
            tree=tree,
        )
        tree.finish()
        cycle_fingerprint.add_models(tree, restat_interval_ns)
        previous_nodes = _previous_node_inventory(home)
        nodes = scan_node_inventory(root, previous_nodes)
        info.update(
            models=models.count,
            node_packs=len(nodes.packs),
            folders_listed=tree.listed + input_tree.listed,
            full_restat=tree.restat,
            fingerprint_paths=len(cycle_fingerprint.stamps.paths),
        )

    with stages.stage("caches") as info:
        # The model cache follows from the listings and the roots: when neither
        # changed and the file is the one last written, it is not rebuilt only to be
        # found equal.
        roots_digest = models.roots_digest()
        stale = (
            tree.changed
            or tree.meta.get("model_roots") != roots_digest
            or tree.meta.get("model_cache_file") != file_identity(home.model_cache)
        )
        info["model_cache_rewritten"] = stale and write_json_if_changed(
            home.model_cache, models.to_cache_document()
        )
        tree.meta["model_roots"] = roots_digest
        tree.meta["model_cache_file"] = file_identity(home.model_cache)
        save_listing(home.listing_cache, tree)
        info["custom_nodes_cache_rewritten"] = write_json_if_changed(
            home.custom_nodes_cache, nodes.to_cache_document()
        )

    with stages.stage("workflows") as info:
        scan = scan_watched_folders(
            watched_folders,
            load_workflow_cache(home.workflow_cache),
            settings.workflows.include_images,
        )
        write_json_if_changed(home.workflow_cache, scan.cache_document)
        changes = detect_changes(
            (stored.watched for stored in scan.workflows),
            last_seen_hashes(home.intake_log),
            now=started_at,  # the cycle's clock, not a second reading of the wall
        )
        record_intake(home.intake_log, changes)
        info.update(
            workflows_scanned=len(scan.workflows),
            hashed=scan.files_hashed,
            parsed=scan.files_parsed,
            intake=len(changes),
            reader_failures=list(scan.failures),
        )

    with stages.stage("needs") as info:
        installed, node_source, choices = _installed_node_types(services.comfyui_server, nodes)
        cycle_fingerprint.node_source = _node_source_digest(node_source, installed)
        needs, scan = _assess_each(scan, models, installed, choices)
        info.update(node_source=node_source, assess_failures=list(scan.failures))

    with stages.stage("node_packs") as info:
        node_map = None
        if any(n.missing_nodes for n in needs.values()):
            node_map = services.node_map.load(root)
        info["node_map"] = node_map is not None
        find_pack = pack_finder(nodes, node_map)

    with stages.stage("resolve") as info:
        resolutions, note = resolve_missing_models(
            settings,
            home,
            root,
            scan.workflows,
            needs,
            offline=offline,
            backends=services.backend_order,
            http_client=services.client,
            stop_event=stop_event or services.stop_event,
        )
        info.update(requests=len(resolutions))

    with stages.stage("report") as info:
        entries = [
            workflow_entry(
                WorkflowReport(
                    path=str(stored.watched.path),
                    source=stored.watched.source,
                    sha256=stored.watched.sha256,
                    format=stored.parsed.format if stored.parsed else None,
                    needs=needs.get(str(stored.watched.path)),
                    error=stored.error,
                    findings=stored.parsed.errors if stored.parsed else (),
                    name=_name_in_folder(stored.watched.path, watched_folders),
                ),
                resolutions,
                find_pack,
                started_at,
            )
            for stored in scan.workflows
        ]
        entries += [
            workflow_entry(
                WorkflowReport(
                    path=str(unreadable.path),
                    source=unreadable.source,
                    sha256="",
                    format=None,
                    needs=None,
                    error=unreadable.error,
                    findings=(),
                    name=_name_in_folder(unreadable.path, watched_folders),
                ),
                resolutions,
                find_pack,
            )
            for unreadable in scan.unreadable
        ]
        document = build_report(
            entries,
            generated_at=started_at,
            cycle_id=cycle_id,
            comfyui_root=str(root),
            node_source=node_source,
            models_installed=models.count,
            node_packs=len(nodes.packs),
            intake_new_or_updated=len(changes),
            resolution_note=note,
        )
        info["rewritten"] = _write_report(home, document)

    summary = document["summary"]
    statuses = [r.get("status") for r in resolutions.values()]
    counts = {
        "workflows": summary["workflows"],
        "parse_errors": summary["workflows_by_status"].get("parse_error", 0),
        "missing_models": summary["missing_models"],
        "missing_nodes": summary["missing_nodes"],
        "uncertain": summary["uncertain"],
        "resolved": statuses.count("FOUND"),
        "errors": statuses.count("ERROR") + summary["workflows_by_status"].get("parse_error", 0),
        "intake_new": sum(1 for c in changes if c.event == "new"),
        "intake_updated": sum(1 for c in changes if c.event == "updated"),
        "models_installed": models.count,
    }
    summary = {**summary, "intake_new_or_updated": len(changes)}
    cycle_fingerprint.finish(
        [
            home.model_cache,
            home.custom_nodes_cache,
            home.workflow_cache,
            home.intake_log,
            home.resolution_cache,
            home.extension_node_map,
            home.report_json,
            home.report_markdown,
        ],
        {"counts": counts, "summary": summary},
        home.resolution_cache,
    )
    return finish(
        "ran",
        None,
        counts,
        report_json=home.report_json,
        report_markdown=home.report_markdown,
        summary=summary,
    )


def _node_source_digest(node_source: str, installed: frozenset[str]) -> str:
    """What the installed node types came from: the static inventory (its files are
    stamped) or a server's answer (digested, since the server can change at any time)."""
    if node_source == "static":
        return "static"
    return fingerprint.settings_digest(node_source, sorted(installed))


def _unchanged_cycle(
    home: Home,
    cycle_id: str,
    saved: fingerprint.Saved,
    finish: Callable[..., CycleResult],
) -> CycleResult:
    """Record a cycle none of whose inputs changed: the last outcome stands, with no new
    intake; nothing is read beyond the fingerprint, nothing rewritten but the record."""
    log_event(home.structured_log, "stage", cycle_id=cycle_id, phase="fingerprint", unchanged=True)
    counts = {**saved.outcome.get("counts", {}), "intake_new": 0, "intake_updated": 0}
    summary = {**saved.outcome.get("summary", {}), "intake_new_or_updated": 0}
    return finish(
        "ran",
        None,
        counts,
        report_json=home.report_json,
        report_markdown=home.report_markdown,
        summary=summary,
    )
