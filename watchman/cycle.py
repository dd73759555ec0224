"""One readiness cycle: the order of the stages.

guards -> inventory -> caches -> workflows (intake, parse) -> needs -> node packs ->
resolve -> downloads -> report -> state. Each stage is a function of ``watchman.stages`` (or
``watchman.reporting``) from frozen data to frozen data; this module takes the run lock,
calls them in order and times them. The guards are asked by :mod:`watchman.cycle_guards`
and the cycle is recorded by :mod:`watchman.cycle_record`, however it ends. One workflow
that cannot be read, or one backend that fails, becomes a recorded error inside its stage
and the cycle goes on; so does a cache that cannot be written
(:mod:`watchman.stages.cache_failures`), after which the next cycle runs in full.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import logging
import os
import secrets
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from watchman.clocks import utc_iso
from watchman.cycle_guards import GuardEvaluator, ask_guards, download_check
from watchman.cycle_listener import CycleListener, QuietListener
from watchman.cycle_record import CycleRecorder, CycleResult
from watchman.cycle_stages import StageRunner
from watchman.environment import Environment
from watchman.errors import CycleInterrupted, WatchmanError
from watchman.home import Home
from watchman.stages.fingerprint import CycleFingerprint, RunOutcome, check_inputs
from watchman.state import fingerprint
from watchman.state.cycle_state import running_marker
from watchman.state.memory import release_memory, trim_heap
from watchman.state.run_lock import RunLock
from watchman.state.settings_memo import SettingsNeeded, SettingsView
from watchman.state.stale_temp_files import remove_stale_temp_files
from watchman.state.structured_log import StructuredLog, rotate

if TYPE_CHECKING:
    # The stages are imported where a cycle runs in full (_run_stages): a cycle whose
    # inputs did not change never needs them, so a fresh process (cron's --run-cycle)
    # does not pay for importing the readers, the resolver and the report.
    import httpx

    from watchman.clocks import Clock
    from watchman.config import Settings
    from watchman.services import Services

logger = logging.getLogger(__name__)

STAGES: tuple[tuple[str, str], ...] = (
    ("inventory", "Taking stock of installed models and node packs…"),
    ("caches", "Updating the caches…"),
    ("workflows", "Reading the watched workflows…"),
    ("needs", "Working out what each workflow needs…"),
    ("node_packs", "Finding the packs that provide missing nodes…"),
    ("resolve", "Finding where to get missing models…"),
    ("downloads", "Planning downloads (fetching trusted ones with --auto-download)…"),
    ("report", "Writing the report…"),
)
"""The stages in the order a cycle runs them, each with the label a progress display
shows while it runs."""


def stage_label(phase: str) -> str:
    """The progress label of a stage (its name when unknown)."""
    return dict(STAGES).get(phase, phase)


def _new_cycle_id(started_at: str) -> str:
    compact = started_at.replace("-", "").replace(":", "").replace(".", "")[:15]
    return f"{compact}-{secrets.token_hex(3)}"


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
    listener: CycleListener | None = None,
    environment: Environment | None = None,
    services: Services | None = None,
    auto_download: bool = False,
    force: bool = False,
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
        listener: hears the cycle's id, each stage as it starts and the steps of the
            stages that count them (resolve: each missing model); a progress display.
            None: nobody watches.
        environment: the process's surroundings (variables, home and working folders),
            for finding ComfyUI when no root is configured; None: nothing of the machine
            (no variables, detection from the tool's home only).
        services: the outside world, wired once by the command (``build_services``);
            when given, ``offline``, ``backends``, ``http_client`` and ``environment``
            are taken from it. None: built here from the other arguments, closed after.
        auto_download: fetch trusted planned downloads in this cycle (also
            ``downloads.auto_download``); the guards are asked again before each file.
        force: run whatever the guards say (``--force``); they are still asked and
            logged, and the run lock still holds.

    Returns:
        The cycle's result; a skipped or failed cycle is a result, not an exception.

    Raises:
        LockHeldError: another cycle holds the run lock.
        ComfyUINotFoundError: no ComfyUI install is configured or found.
    """
    home.ensure()
    if services is None:
        from watchman.services import build_services, with_overrides

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
                listener=listener,
                services=own,
                auto_download=auto_download,
                force=force,
            )
    settings = services.settings
    services.new_run()
    listener = listener if listener is not None else QuietListener()
    clock = services.environment.clock
    with RunLock(home.lock_file), contextlib.ExitStack() as running:
        early: RunOutcome | None = None
        if isinstance(settings, SettingsView):
            # Settings read back from their memo (a cron cycle, state/settings_memo.py)
            # serve a cycle that stops at its fingerprint, and nothing else: the inputs
            # are checked first, before anything is written, and a change hands the cycle
            # back to the command, which validates the settings and starts it again.
            early = _unchanged_or_hand_back(services, home, comfyui_root, clock)
        remove_stale_temp_files(home.root, now=clock.wall())
        started_at = utc_iso(clock.wall())
        # `status` says "running now" from this marker, never by touching the lock.
        running.enter_context(running_marker(home.state_dir, started_at, os.getpid()))
        cycle_id = _new_cycle_id(started_at)
        listener.on_cycle_start(cycle_id)
        root, root_found_by = services.locate_comfyui_root(comfyui_root)

        finish = CycleRecorder(
            home, settings.metrics.textfile, cycle_id, started_at, trigger, clock
        ).finish
        rotate(home.structured_log, int(settings.logging.structured_log_max_mb * 1e6))
        log = StructuredLog(home.structured_log, clock.wall)
        verdict = ask_guards(settings, home, log, cycle_id, guard_evaluator, clock)
        if not verdict.allowed and force:
            logger.warning("The guards say no (%s); running anyway (--force).", verdict.reason)
        elif not verdict.allowed:
            logger.info("Cycle skipped: %s (--force runs anyway)", verdict.reason)
            return finish("skipped", verdict.reason)
        checked = (
            early
            if early is not None
            else check_inputs(services, home, root, int(clock.wall() * 1e9))
        )
        if isinstance(checked, RunOutcome):
            log.write("stage", cycle_id=cycle_id, phase="fingerprint", unchanged=True)
            return finish("ran", None, checked)
        cycle_fingerprint = checked
        logger.info("Running the cycle in full: %s.", checked.why)
        # The inventory keeps ~100k small objects alive through the cycle; the cyclic
        # collector would rescan them on every allocation burst (a third of an idle
        # cycle's time at 100k models). Nothing here builds reference cycles worth
        # collecting mid-cycle, so collect once afterwards instead.
        collector_was_on = gc.isenabled()
        gc.disable()
        may_download = download_check(settings, verdict, guard_evaluator, clock, force=force)
        try:
            ran = _run_stages(
                home,
                root,
                cycle_id,
                started_at,
                services=services,
                stop_event=stop_event,
                listener=listener,
                cycle_fingerprint=cycle_fingerprint,
                auto_download=auto_download or settings.downloads.auto_download,
                may_download=may_download,
                root_found_by=root_found_by,
            )
        except CycleInterrupted as error:
            # A requested stop is not a failure: nothing was half-written (the report is
            # written whole or not at all), and the next cycle starts from the same state.
            logger.warning("Cycle interrupted: %s.", error)
            fingerprint.forget(home.fingerprint)  # the next cycle runs in full
            return finish("interrupted", str(error))
        except (WatchmanError, OSError) as error:
            logger.error("Cycle failed: %s", error)
            fingerprint.forget(home.fingerprint)  # the next cycle runs in full
            return finish("failed", str(error))
        except Exception as error:
            # Last resort: a bug must be recorded and must not pass the next cycle off as
            # "unchanged" behind a fingerprint of the cycle before. Then it goes on up: the
            # command says it in one sentence, the scheduler logs it and carries on.
            fingerprint.forget(home.fingerprint)
            finish("failed", f"unexpected {type(error).__name__}: {error}")
            raise
        finally:
            if collector_was_on:
                gc.enable()
            if trigger == "scheduler":
                # The daemon now idles until the next cycle: hand the cycle's freed memory
                # back to the system (a one-shot process simply exits). Nothing of the
                # cycle outlives it: the next one reads the directory listings back from
                # their file (~0.2 s).
                release_memory()
        # A cycle that ran may still say what went wrong (a cache it could not write).
        return finish("ran", " ".join(ran.warnings) or None, ran)


def _unchanged_or_hand_back(
    services: Services, home: Home, comfyui_root: Path | None, clock: Clock
) -> RunOutcome:
    """Return the last outcome when the cycle's inputs did not change.

    Raises:
        SettingsNeeded: they changed; the cycle runs in full on validated settings.
    """
    root, _ = services.locate_comfyui_root(comfyui_root)
    checked = check_inputs(services, home, root, int(clock.wall() * 1e9))
    if not isinstance(checked, RunOutcome):
        raise SettingsNeeded("an input of the cycle changed since the last one")
    return checked


def _run_stages(
    home: Home,
    root: Path,
    cycle_id: str,
    started_at: str,
    *,
    services: Services,
    stop_event: threading.Event | None,
    listener: CycleListener,
    cycle_fingerprint: CycleFingerprint,
    auto_download: bool = False,
    may_download: Callable[[], str | None] = lambda: None,
    root_found_by: str = "",
) -> RunOutcome:
    from watchman.comfy.loader_lookup import default_table, loader_table
    from watchman.comfy.value_pool import release_pools
    from watchman.reporting.cycle_figures import cycle_counts, cycle_summary
    from watchman.reporting.files import write_report
    from watchman.reporting.previous import read_previous_report
    from watchman.reporting.report import build_report
    from watchman.reporting.report_index import index_path
    from watchman.stages.cache_failures import CacheFailures
    from watchman.stages.downloads import downloads_stage
    from watchman.stages.input_needs import files_beside
    from watchman.stages.intake import take_intake
    from watchman.stages.inventory.model_health import HEALTH_FILE_NAME, save_health
    from watchman.stages.inventory.stock import write_caches
    from watchman.stages.needs_stage import assess_needs
    from watchman.stages.node_packs import advise_packs
    from watchman.stages.resolve import resolve_missing_models
    from watchman.stages.survey import survey_install
    from watchman.stages.workflow_entries import reader_code
    from watchman.stages.workflows import read_watched_workflows
    from watchman.state.download_log import log_path, read_downloads

    settings = services.settings
    environment = services.environment
    # The process-wide tables (the bundled loader table, the readers' code digest) are
    # built before the stages' transient objects: made in the middle of a cycle, their
    # thousands of small objects pin the heap pages around them, and the scheduler kept
    # ~15 MiB more between cycles (issue 14's resident goal).
    default_table()
    reader_code()
    log = StructuredLog(home.structured_log, environment.clock.wall)
    stages = StageRunner(
        log, environment.clock, cycle_id, stop_event or services.stop_event, listener
    )
    now_ns = cycle_fingerprint.now_ns
    # A cache that cannot be written is a warning, not the cycle's end (cache_failures).
    caches = CacheFailures()
    with stages.stage("inventory") as info:
        survey = survey_install(home, root, services, cycle_fingerprint, stages.stop_event, caches)
        info.update(survey.figures(len(cycle_fingerprint.stamps.paths)), **caches.new_sentences())

    with stages.stage("caches") as info:
        written = write_caches(home, survey.stock, caches)
        info["model_cache_rewritten"] = written.model_cache
        info["custom_nodes_cache_rewritten"] = written.custom_nodes_cache
        info["model_health_rewritten"] = caches.write(
            "model health verdicts",
            home.state_dir / HEALTH_FILE_NAME,
            functools.partial(save_health, home.state_dir, survey.health),
            False,
        )
        info.update(caches.new_sentences())
    # Saved: from here on the cycle needs the inventories and the broken files, not the
    # directory listings nor the verdict on every file. Letting them go now keeps ~25 MiB
    # at 100k models out of the later stages, where the cycle's peak is (issue 14); the
    # next full cycle reads the listings back from their file (~0.2 s).
    models, nodes = survey.stock.models, survey.stock.nodes
    health = survey.health.broken_only()
    folders, inputs, input_folder = survey.folders, survey.inputs, survey.input_folder
    del survey
    trim_heap()

    with stages.stage("workflows") as info:
        table = loader_table(
            nodes.learned_loaders(), nodes.checked_sampler_lists(), nodes.listed_sockets()
        )
        scan = read_watched_workflows(
            home.workflow_cache,
            folders,
            settings.workflows.include_images,
            now_ns=now_ns,
            full_rehash_hours=settings.workflows.full_rehash_hours,
            table=table,
            stop_event=stages.stop_event,
            failures=caches,
        )
        if scan.next_full_rehash_ns is not None:
            # An unchanged cycle stops at the fingerprint: the re-hash must wake it.
            cycle_fingerprint.due_at_ns.append(scan.next_full_rehash_ns)
        intake = take_intake(
            home.intake_log, (stored.watched for stored in scan.workflows), started_at
        )
        info.update(
            workflows_scanned=len(scan.workflows),
            hashed=scan.files_hashed,
            parsed=scan.files_parsed,
            intake=len(intake),
            reader_failures=[asdict(failure) for failure in scan.failures],
            full_rehash=scan.full_rehash,
            **caches.new_sentences(),
        )

    # The parses hold what the pools shared; held past the cycle, the pools' values
    # would pin the heap pages around them while the scheduler idles.
    release_pools()
    trim_heap()  # the workflows' bytes and documents, read and parsed, are gone now
    with stages.stage("needs") as info:
        assessed = assess_needs(
            settings,
            home,
            services.comfyui_server,
            scan,
            models,
            nodes,
            health,
            table,
            written,
            inputs,
            caches,
            cycle_fingerprint.take_server_reading(),
        )
        installed, needs = assessed.installed, assessed.needs
        cycle_fingerprint.note_node_source(
            installed.source, installed.content_digest, installed.answer_digest
        )
        info.update(
            node_source=installed.source,
            assess_failures=[asdict(failure) for failure in needs.failures],
            **caches.new_sentences(),
        )
    # From here on a workflow's parse is asked only for its format, findings and embedded
    # models: the nodes and references, which a cold cycle holds fresh from the readers
    # (~50 MB at 5,000 workflows), go before the report, where its peak was (issue 14).
    needs = needs.with_gists()
    watched = scan.folders
    del assessed, scan
    trim_heap()

    with stages.stage("node_packs") as info:
        packs = advise_packs(
            needs, nodes, lambda: services.node_map.load(root, services.base_directory(root))
        )
        info["node_map"] = packs.node_map_used

    with stages.stage("resolve") as info:
        resolutions = resolve_missing_models(
            services, root, needs, started_at, stages.progress("resolve"), caches
        )
        info.update(
            requests=len(resolutions.by_key),
            deferred=resolutions.deferred,
            **caches.new_sentences(),
        )

    with stages.stage("downloads") as info:
        downloads = downloads_stage(
            settings,
            home.state_dir,
            (
                (str(a.path), a.needs.missing_models if a.needs is not None else ())
                for a in needs.workflows
            ),
            resolutions.by_key,
            models.roots_for,
            services.client,
            auto=auto_download and not services.offline,
            stop_event=stop_event or services.stop_event,
            may_start=may_download,
            write_event=lambda event, **fields: log.write(event, cycle_id=cycle_id, **fields),
            now=lambda: utc_iso(environment.clock.wall()),
            clock=environment.clock.monotonic,
        )
        info.update(planned=len(downloads.plan.tasks), auto=auto_download)
        if downloads.run is not None:
            info.update(
                results=downloads.run.to_json(), stopped_because=downloads.run.stopped_because
            )

    with stages.stage("report") as info:
        # What this cycle needs of the report before it (when it was made, its workflows'
        # digests and statuses, its stable part's digest) from its small index; the 17 MB
        # JSON is decoded only when the index does not describe it.
        report_index = index_path(home.state_dir)
        previous = read_previous_report(home.report_json, home.report_markdown, report_index)
        report = build_report(
            needs.workflows,
            resolutions,
            packs,
            generated_at=started_at,
            cycle_id=cycle_id,
            comfyui_root=str(root),
            comfyui_found_by=root_found_by,
            node_source=installed.source,
            models_installed=models.count,
            node_packs=len(nodes.packs),
            intake_new_or_updated=len(intake),
            downloads=downloads.plan,
            downloaded=list(read_downloads(log_path(home.state_dir), previous.generated_at)),
            watched=watched,
            previous=previous.before,
            backend_urls={
                "qwen": settings.qwen.base_url,
                "civitai": settings.civitai.base_url,
                "huggingface": settings.huggingface.base_url,
            },
            input_folder=str(input_folder) if input_folder is not None else None,
            inputs_beside=files_beside(
                (str(a.path), a.needs.missing_inputs) for a in needs.workflows if a.needs
            ),
        )
        info["rewritten"] = write_report(
            home.report_json, home.report_markdown, report, index=report_index, previous=previous
        )
        del previous
    outcome = RunOutcome(
        counts={**cycle_counts(report, resolutions, intake), **downloads.counts()},
        summary=cycle_summary(report, intake),
        warnings=caches.sentences(),
    )
    if caches.failures:
        # What was not saved must not pass for unchanged: the next cycle runs in full.
        fingerprint.forget(home.fingerprint)
        return outcome
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
        outcome,
        home.resolution_cache,
    )
    if (downloads.run is not None and downloads.run.to_resume) or resolutions.deferred:
        # A paused or cut download resumes next cycle even when no input changed (a
        # growing part need not change its folder's stamp); so do the models the search
        # budget left for the next cycle.
        fingerprint.forget(home.fingerprint)
    return outcome
