"""The cockpit's main screen: panels as a grid when wide, as tabs at 80×24.

Background work runs in workers and comes back as messages; everything the
operator does is appended to the journal first and shown after, from the
journal's own event (see ``on_journal_appended``).
"""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace
from typing import Any

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static, Tab, Tabs
from textual.worker import Worker, WorkerState

from rollback_cockpit.actions.rollback import AUTO_BY
from rollback_cockpit.checks.triggers import DetectionTracker as DetectionProbe
from rollback_cockpit.runbook import checklists
from rollback_cockpit.runbook import events as ev
from rollback_cockpit.runbook.clock import format_duration, to_jst
from rollback_cockpit.runbook.journal import JournalError
from rollback_cockpit.tui.messages import (
    IdentityResolved,
    JournalAppended,
    MetricsFailed,
    MetricsSampled,
    PlanFailed,
    PlanPrepared,
    ReportExported,
    RollbackFinished,
    ValidationFinished,
)
from rollback_cockpit.tui.widgets.actions import KIND_LABELS, ActionsPanel
from rollback_cockpit.tui.widgets.checklist import ChecklistPanel
from rollback_cockpit.tui.widgets.header import ClockLine, CockpitHeader, IdentityLine
from rollback_cockpit.tui.widgets.metrics import METRICS, MetricsPanel, views_from
from rollback_cockpit.tui.widgets.timeline import Timeline
from rollback_cockpit.tui.widgets.validation import ValidationPanel

log = logging.getLogger("rollback_cockpit")

DECISION_SECONDS = 15 * 60  # the runbook: decide within 15 minutes of detection
PANELS = ("metrics", "checklists", "actions", "validation", "timeline")
TITLES = {
    "metrics": "1 Metrics",
    "checklists": "2 Checklists",
    "actions": "3 Actions",
    "validation": "4 Validation",
    "timeline": "5 Timeline",
}


MIN_WIDTH, MIN_HEIGHT = 80, 24


class TooSmall(Static):
    """One line, shown only when the terminal is smaller than the cockpit needs."""

    DEFAULT_CSS = """
    TooSmall {
        display: none;
        height: auto;
        background: $warning;
        color: $text;
        text-style: bold;
    }
    """

    def check(self, width: int, height: int) -> None:
        small = width < MIN_WIDTH or height < MIN_HEIGHT
        if small:
            self.update(f"terminal {width}×{height} is too small: the cockpit needs {MIN_WIDTH}×{MIN_HEIGHT}; panels are cut")
        self.display = small


class CockpitScreen(Screen):
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (34, "-tall")]

    BINDINGS = [
        Binding("1", "panel('metrics')", "Metrics", id="panel.metrics", show=False),
        Binding("2", "panel('checklists')", "Checklists", id="panel.checklists", show=False),
        Binding("3", "panel('actions')", "Actions", id="panel.actions", show=False),
        Binding("4", "panel('validation')", "Validation", id="panel.validation", show=False),
        Binding("5", "panel('timeline')", "Timeline", id="panel.timeline", show=False),
        Binding("s", "sample", "Sample metrics now", id="metrics.sample", show=False),
        Binding("m", "mark_detected", "Detected", id="decision.mark"),
        Binding("d", "decide", "Decide", id="decision.take"),
        Binding("r", "choose_rollback", "Rollback", id="rollback.choose"),
        Binding("x", "execute", "Execute", id="rollback.execute"),
        Binding("a", "abort", "Abort", id="rollback.abort"),
        Binding("v", "validate", "Validate", id="validation.run"),
        Binding("e", "export", "Report", id="report.export"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.detection = DetectionProbe()
        self.decision: str | None = None
        self.plan: Any = None
        self.plan_kind: str | None = None
        self.rollback_running = False
        self._abort: asyncio.Event | None = None
        self._run: Any = None  # the RollbackRun, once a rollback starts
        self._finished = False
        self.resumed = False
        self._breached: set[str] = set()

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        app = self.app
        yield CockpitHeader(app.env.name, app.env.region, app.operator, app.simulate, id="header")
        yield TooSmall(id="too-small")
        yield Tabs(*(Tab(TITLES[p], id=f"tab-{p}") for p in PANELS), id="panel-tabs")
        with Container(id="panels"):
            with Vertical(id="panel-metrics", classes="panel -active") as v:
                v.border_title = TITLES["metrics"]
                yield MetricsPanel(id="metrics")
            with Vertical(id="panel-checklists", classes="panel") as v:
                v.border_title = TITLES["checklists"]
                yield ChecklistPanel(id="checklists")
            with Vertical(id="panel-actions", classes="panel") as v:
                v.border_title = TITLES["actions"]
                from rollback_cockpit.runbook.environment import offered_kinds

                configured = offered_kinds(app.env)
                # The kinds this version can plan (actions/kinds.py), as the app's services know them.
                built = [k for k in configured if k in app.services.planners]
                yield ActionsPanel(built, [k for k in configured if k not in built], id="actions")
            with Vertical(id="panel-validation", classes="panel") as v:
                v.border_title = TITLES["validation"]
                yield ValidationPanel(id="validation")
            with Vertical(id="panel-timeline", classes="panel") as v:
                v.border_title = TITLES["timeline"]
                yield Timeline(id="timeline")
        yield Footer()

    def on_mount(self) -> None:
        app = self.app
        # Events written before the screen existed (run_started, or a whole run being resumed).
        self._apply_events(list(app.journal.events))
        if app.resumed:
            self._restore(list(app.journal.events))
        app.journal.subscribe(lambda e: self.post_message(JournalAppended(e)))
        self.refresh_clock()
        # One short line per second; nothing else redraws on a timer.
        self.set_interval(1.0, self.refresh_clock, name="clock")
        self.query_one(ChecklistPanel).focus()
        # AWS work starts once the first frame is on the screen: the operator
        # sees the cockpit at once, and the data fills in.
        self.call_after_refresh(self._start_background)

    def _start_background(self) -> None:
        app = self.app
        env = app.env
        self.action_sample()
        if app.sample_on_timer:
            period = env.metrics.period_seconds if env.metrics else 60
            # At the data's pace: one CloudWatch period of clock time.
            self.set_interval(max(2.0, app.clock.wall(period)), self.action_sample, name="metrics")
        if app.aws is not None:
            self.resolve_identity()
            self.check_readiness()

    def _restore(self, events: list[Any]) -> None:
        """A resumed run: the decision clock, the decision and the unfinished plan, from the journal."""
        from rollback_cockpit.actions.rollback import NothingToResume, resume_point

        app = self.app
        for e in events:
            if e.type == ev.DETECTED and not self.detection.detected:
                self.detection.mark(_parse_time(e.data.get("detected_at")) or app.clock.now(), e.data.get("trigger", ""))
            elif e.type == ev.DECISION_TAKEN:
                kind = e.data.get("kind", "")
                self.decision = "no rollback" if kind == "none" else f"rollback {kind}"
        panel = self.query_one(ActionsPanel)
        try:
            point = resume_point(events, app.env, app.clock)
        except (NothingToResume, ValueError) as exc:
            panel.show_status(f"resumed run {app.journal.run_id}: {exc}")
            return
        plan = point.plan
        self.plan, self.plan_kind, self.resumed = plan, plan.kind, True
        steps = [(s.id, s.describe()) for s in plan.steps]
        panel.show_plan(plan.kind, _diff_of(plan, steps), steps)
        for e in events:  # the steps as far as they got
            panel.step_event(e, app.clock.time())
        interrupted = f"; interrupted: {', '.join(point.interrupted)}" if point.interrupted else ""
        panel.show_status(
            f"resumed run {app.journal.run_id}: {len(point.done)} of {len(plan.steps)} step(s) done{interrupted}. "
            "x: continue (each step asks AWS whether it is already done)"
        )
        self.action_panel("actions")

    def on_resize(self, event: events.Resize) -> None:
        self.query_one(TooSmall).check(event.size.width, event.size.height)

    # --------------------------------------------------------------- panels

    def action_panel(self, name: str) -> None:
        self.query_one("#panel-tabs", Tabs).active = f"tab-{name}"
        target = {
            "metrics": "#panel-metrics",
            "checklists": "#checklists",
            "actions": "#kinds",
            "validation": "#validation",
            "timeline": "#timeline",
        }[name]
        widget = self.query_one(target)
        if widget.focusable:
            widget.focus()

    @on(Tabs.TabActivated, "#panel-tabs")
    def _tab_activated(self, event: Tabs.TabActivated) -> None:
        name = (event.tab.id or "tab-metrics").removeprefix("tab-")
        for p in PANELS:
            self.query_one(f"#panel-{p}").set_class(p == name, "-active")

    # ------------------------------------------------------------- journal

    def journal(self, type: str, **data: Any) -> bool:
        """Append to the journal; on failure, tell the operator and change nothing."""
        try:
            self.app.journal.append(type, **data)
        except JournalError as exc:
            self.notify(f"{exc} — nothing was done", severity="error", timeout=30)
            return False
        return True

    def on_journal_appended(self, message: JournalAppended) -> None:
        self._apply_events([message.event])

    def _apply_events(self, events: list[Any]) -> None:
        app = self.app
        now = app.clock.time()
        with app.batch_update():
            checklist = self.query_one(ChecklistPanel)
            actions = self.query_one(ActionsPanel)
            for e in events:
                if e.type == ev.CHECKLIST_TICKED:
                    d = e.data
                    tick = checklists.Tick(d.get("by", ""), e.sim_at or e.at, d.get("evidence", ""), bool(d.get("auto")))
                    try:
                        checklist.show_tick(d["phase"], d["item"], tick)
                    except KeyError:
                        log.debug("unknown checklist item in journal: %s", d)
                elif e.type == ev.VALIDATION_RESULT:
                    self.query_one(ValidationPanel).add_result(SimpleNamespace(**{
                        "check": "", "name": "", "status": "", "summary": "", "details": (), **e.data
                    }))
                else:
                    actions.step_event(e, now)
            self.query_one(Timeline).add_events(events)

    # --------------------------------------------------------------- clock

    def refresh_clock(self) -> None:
        app = self.app
        clock = app.clock
        parts = [f"JST {to_jst(_wall_now(clock)).strftime('%Y-%m-%d %H:%M:%S')}"]
        if clock.simulated:
            parts.append(f"sim {to_jst(clock.now()).strftime('%H:%M:%S')} ×{clock.speed:g}")
        urgent = False
        if self.decision:
            parts.append(f"decided: {self.decision}")
        elif self.detection.detected:
            left = self.detection.remaining_seconds(clock.now(), DECISION_SECONDS) or 0.0
            if left >= 0:
                parts.append(f"decide within {format_duration(left)}")
                urgent = left < 5 * 60
            else:
                parts.append(f"decision OVERDUE by {format_duration(-left)}")
                urgent = True
        else:
            parts.append("no incident detected (m: mark detected)")
        self.query_one(ClockLine).show(" │ ".join(parts), urgent)
        if self.rollback_running:
            self.query_one(ActionsPanel).refresh_steps(clock.time())

    def action_mark_detected(self) -> None:
        if self.detection.detected:
            self.notify("detection is already recorded; the decision clock is running")
            return
        self._detect("operator", self.app.clock.now(), by=self.app.operator)

    def _detect(self, trigger: str, at: Any, **data: Any) -> None:
        if self.journal(ev.DETECTED, trigger=trigger, detected_at=at, **data):
            self.detection.mark(at, trigger)
            self.refresh_clock()

    def action_decide(self) -> None:
        from rollback_cockpit.tui.screens.dialogs import DecisionScreen

        kinds = [(k, KIND_LABELS.get(k, k)) for k in self.query_one(ActionsPanel).kinds]
        self.app.push_screen(DecisionScreen(kinds), self._decided)

    def _decided(self, answer: tuple[str, str, str, str] | None) -> None:
        if answer:
            kind, reason, severity, approver = answer
            self.take_decision(kind, reason, severity=severity, approved_by=approver)

    def take_decision(self, kind: str, reason: str, *, severity: str | None = None, approved_by: str = "") -> bool:
        if not self.detection.detected:
            self._detect("operator", self.app.clock.now(), by=self.app.operator)
        data = {"kind": kind, "reason": reason, "by": self.app.operator}
        if severity:
            data["severity"] = severity
        if approved_by:
            data["approved_by"] = approved_by
        if not self.journal(ev.DECISION_TAKEN, **data):
            return False
        self.decision = "no rollback" if kind == "none" else f"rollback {kind}"
        if kind != "none":
            self.auto_tick("pre", "type", f"rollback {kind}: {reason}".strip(": "))
        self.refresh_clock()
        return True

    # ---------------------------------------------------------- checklists

    def on_checklist_panel_tick_requested(self, message: ChecklistPanel.TickRequested) -> None:
        self.journal(ev.CHECKLIST_TICKED, phase=message.phase, item=message.item, by=self.app.operator,
                     evidence="", auto=False)

    def auto_tick(self, phase: str, item: str, evidence: str) -> None:
        if not self.query_one(ChecklistPanel).is_ticked(phase, item) and (phase, item) not in self._pending_ticks():
            self.journal(ev.CHECKLIST_TICKED, phase=phase, item=item, by=AUTO_BY, evidence=evidence, auto=True)

    def _pending_ticks(self) -> set[tuple[str, str]]:
        # Ticks journaled whose message has not reached the panel yet.
        return set(checklists.state_from_events(self.app.journal.events))

    # ------------------------------------------------------------- metrics

    def action_sample(self) -> None:
        if self.app.services.sample is None:
            self.query_one(MetricsPanel).show_status("metrics: not available in this build")
            return
        self.sample_metrics()

    @work(group="metrics", exclusive=True, exit_on_error=False)
    async def sample_metrics(self) -> None:
        app = self.app
        s = app.services
        try:
            snapshot = await s.sample(app.aws, app.env, app.clock, minutes=30)
            states = s.evaluate(snapshot, app.env.triggers, app.clock.now()) if s.evaluate else []
        except Exception as exc:  # a failed refresh leaves the last data and says why
            from rollback_cockpit.aws.errors import explain

            self.post_message(MetricsFailed(explain(exc, action="GetMetricData").line()))
            return
        self.post_message(MetricsSampled(snapshot, list(states or [])))

    def on_metrics_sampled(self, message: MetricsSampled) -> None:
        app = self.app
        views = views_from(message.snapshot, message.triggers)
        when = to_jst(app.clock.now()).strftime("%H:%M:%S")
        self.query_one(MetricsPanel).show(views, f"sampled {when}; sparklines: last 30 min")
        probe = DetectionProbe()
        if not self.detection.detected and probe.update(message.triggers):
            first = next(st for st in message.triggers if st.name == probe.by)
            self._detect(first.name, probe.detected_at, text=first.text(), value=first.value,
                         threshold=first.threshold)
        breached = [v for v in views if v.breached]
        for v in breached:
            if v.key not in self._breached:
                self._breached.add(v.key)
                label = METRICS[v.key][0]
                self.notify(f"{label} breached its trigger", severity="error", timeout=10)
        self._breached &= {v.key for v in breached}

    def on_metrics_failed(self, message: MetricsFailed) -> None:
        self.query_one(MetricsPanel).show_status(f"metrics unavailable: {message.error}")

    @work(group="identity", exclusive=True, exit_on_error=False)
    async def resolve_identity(self) -> None:
        try:
            account, arn = await self.app.aws.account_and_caller()
        except Exception as exc:
            from rollback_cockpit.aws.errors import explain

            self.notify(f"AWS identity unknown: {explain(exc, action='GetCallerIdentity').line()}",
                        severity="warning", timeout=15)
            return
        self.post_message(IdentityResolved(account, arn))

    @work(group="readiness", exclusive=True, exit_on_error=False)
    async def check_readiness(self) -> None:
        """Tick the pre items the cockpit can prove (permissions, backup) from readiness."""
        app = self.app
        if app.services.readiness is None:
            return
        from rollback_cockpit.checks import readiness as rd

        items = {rd.PERMISSIONS: "permissions", rd.BACKUP: "backup"}
        async for r in app.services.readiness(app.aws, app.env, app.clock, run_id=app.journal.run_id):
            item = items.get(r.name)
            if item and r.status == "pass":  # a warning (e.g. no backup location) proves nothing
                self.auto_tick("pre", item, r.summary)
            elif r.status == "fail":
                self.notify(f"readiness: {r.name}: {r.summary}", severity="warning", timeout=15)

    def on_identity_resolved(self, message: IdentityResolved) -> None:
        self.app.aws_identity = message.arn
        self.journal(ev.NOTE, text=f"AWS identity: {message.arn}", aws_identity=message.arn, account=message.account)
        self.query_one(IdentityLine).show_operator(self.app.operator)

    # ------------------------------------------------------------- actions

    def action_choose_rollback(self) -> None:
        self.action_panel("actions")

    def on_actions_panel_kind_chosen(self, message: ActionsPanel.KindChosen) -> None:
        if self.rollback_running:
            self.notify("a rollback is running; abort it first (a)", severity="warning")
            return
        panel = self.query_one(ActionsPanel)
        if self.app.aws is None:
            panel.show_status(f"{message.kind}: no AWS session", error=True)
            return
        panel.show_status(f"reading the current state for {message.kind}… (nothing changes)")
        self.prepare_plan(message.kind)

    @work(group="plan", exclusive=True, exit_on_error=False)
    async def prepare_plan(self, kind: str) -> None:
        app = self.app
        try:
            plan = await app.services.planners[kind](app.aws, app.env, app.clock)
        except Exception as exc:
            from rollback_cockpit.aws.errors import explain

            self.post_message(PlanFailed(kind, explain(exc, action=f"plan {kind}").line()))
            return
        steps = [(s.id, s.describe()) for s in plan.steps]
        self.post_message(PlanPrepared(kind, plan, [d for _, d in steps], _diff_of(plan, steps)))

    def on_plan_failed(self, message: PlanFailed) -> None:
        self.query_one(ActionsPanel).show_status(f"cannot plan {message.kind}: {message.error}", error=True)

    def on_plan_prepared(self, message: PlanPrepared) -> None:
        plan = message.plan
        steps = [(s.id, s.describe()) for s in plan.steps]
        # execute() journals the plan it runs; the preview is recorded as what the operator saw.
        if not self.journal(ev.NOTE, text=f"plan previewed: {message.kind}, {len(steps)} step(s)",
                            preview=plan.to_json()):
            return
        self.plan, self.plan_kind = plan, message.kind
        panel = self.query_one(ActionsPanel)
        panel.show_plan(message.kind, message.diff, steps)
        refusals = plan.refusals
        if refusals:
            self.plan = None
            panel.show_status("this plan cannot run: " + "; ".join(refusals), error=True)
        else:
            warn = "".join(f"\nwarning: {w}" for w in plan.warnings)
            panel.show_status(f"plan ready: {len(steps)} step(s). x: execute (asks to confirm){warn}")

    def action_execute(self) -> None:
        if self.rollback_running:
            self.notify("a rollback is already running")
            return
        if self.plan is None:
            self.notify("choose a rollback kind first (r, then enter) to see its plan", severity="warning")
            return
        open_pre = checklists.open_items("pre", self.app.journal.events)
        if self.decision is None or self.decision != f"rollback {self.plan_kind}":
            # Executing is the decision; the override question still comes first.
            open_pre = [it for it in open_pre if it.id != "type"]
        if open_pre:
            from rollback_cockpit.tui.screens.dialogs import ReasonScreen

            names = ", ".join(f"{it.ja} / {it.en}" for it in open_pre)
            self.app.push_screen(
                ReasonScreen("Pre-rollback checklist has open items", f"open: {names}\n"
                             "Give a reason to override and continue (escape to go back)."),
                lambda reason: self._overridden(reason, open_pre),
            )
            return
        self._confirm()

    def _overridden(self, reason: str | None, open_pre: list[Any]) -> None:
        if not reason:
            return
        if self.journal(ev.CHECKLIST_OVERRIDDEN, open=[f"pre.{it.id}" for it in open_pre], reason=reason,
                        by=self.app.operator):
            self._confirm()

    def _confirm(self) -> None:
        from rollback_cockpit.tui.screens.dialogs import ConfirmScreen

        app = self.app
        steps = len(self.plan.steps)
        body = f"Roll back {self.plan_kind} on {app.env.name} ({app.env.region}): {steps} step(s)."
        if app.simulate:
            screen = ConfirmScreen("Execute in the rehearsal world?", body)
        else:
            screen = ConfirmScreen("Execute on PRODUCTION", body + " This changes AWS.", typed=app.env.name)
        app.push_screen(screen, self._confirmed)

    def _confirmed(self, yes: bool | None) -> None:
        if not yes:
            self.query_one(ActionsPanel).show_status("not executed; the plan is still shown")
            return
        if self.decision is None and not self.take_decision(self.plan_kind or "", "executed from the cockpit"):
            return
        self.start_rollback()

    def start_rollback(self) -> None:
        """Run the shown plan in the rollback worker."""
        self.rollback_running = True
        self._abort = asyncio.Event()
        self.query_one(ActionsPanel).show_status("running… a: abort between steps")
        self.run_rollback(self.plan, self._abort)

    def _rollback(self) -> Any:
        from rollback_cockpit.actions.rollback import RollbackRun

        app = self.app
        if self._run is None:
            # A resumed run's result covers what was done before the interruption too.
            history = list(app.journal.events) if self.resumed else []
            self._run = RollbackRun(app.aws, app.env, app.clock, app.journal, app.operator, history=history)
        return self._run

    @work(group="rollback", exclusive=True, exit_on_error=False)
    async def run_rollback(self, plan: Any, abort: asyncio.Event) -> str:
        """Re-read the plan, take the lock, run the steps, give the lock back (the shared RollbackRun)."""
        from rollback_cockpit.actions.lock import LockHeld
        from rollback_cockpit.actions.steps import same_plan
        from rollback_cockpit.aws.errors import explain

        app = self.app
        rollback = self._rollback()
        try:
            if not self.resumed:
                # What runs must be what the operator confirmed: read AWS again first.
                again = await app.services.planners[self.plan_kind](app.aws, app.env, app.clock)
                if not same_plan(plan, again):
                    steps = [(s.id, s.describe()) for s in again.steps]
                    self.post_message(PlanPrepared(self.plan_kind, again, [d for _, d in steps], _diff_of(again, steps)))
                    self.post_message(RollbackFinished("not started", "AWS changed since the preview; review the new plan"))
                    return "not started"
            await rollback.take_lock()
        except LockHeld as exc:
            self.post_message(RollbackFinished("not started", f"another rollback is running: {exc.holder.describe()}"))
            return "not started"
        except Exception as exc:  # nothing has changed yet: say why, as a refusal, not a failure
            self.post_message(RollbackFinished("not started", explain(exc, action="plan").line()))
            return "not started"
        try:
            async for _event in rollback.execute(plan, abort=abort):
                pass  # each event reaches the panels through the journal
        finally:
            await rollback.release_lock()
        result = rollback.outcome.result
        self.post_message(RollbackFinished(result))
        return result

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state != WorkerState.ERROR:
            return
        from rollback_cockpit.aws.errors import explain

        line = explain(worker.error, action=worker.group).line() if worker.error else "failed"
        log.error("worker %s failed", worker.name, exc_info=worker.error)
        if worker.group == "rollback":
            self.journal(ev.NOTE, text=f"rollback stopped: {line}")
            self.post_message(RollbackFinished("failed", line))
        elif worker.group == "validation":
            self.post_message(ValidationFinished([], line))
        else:
            self.notify(f"{worker.group}: {line}", severity="error", timeout=20)

    def on_rollback_finished(self, message: RollbackFinished) -> None:
        self.rollback_running = False
        self._abort = None
        panel = self.query_one(ActionsPanel)
        panel.refresh_steps(self.app.clock.time())
        if message.result == "not started":
            panel.show_status(f"not executed: {message.error}", error=True)
            return
        if message.result == "success":
            panel.show_status("rollback finished; validating… (v: validate again, e: export the report)")
        else:
            error = f": {message.error}" if message.error else ""
            panel.show_status(f"rollback {message.result}{error}", error=True)
        if self._run is not None and self._run.plan is not None and self._run.finished_at is not None:
            # Validate after any run that got as far as the steps, even a partial one:
            # the operator needs to know the state the service is in now.
            self.action_validate()

    def action_abort(self) -> None:
        if not self.rollback_running or self._abort is None:
            self.notify("no rollback is running")
            return
        if self.journal(ev.NOTE, text="abort requested by the operator", by=self.app.operator):
            self._abort.set()
            self.query_one(ActionsPanel).show_status("aborting after the current step…", error=True)

    # ---------------------------------------------------------- validation

    def action_validate(self) -> None:
        if self.app.aws is None:
            self.query_one(ValidationPanel).finish("validation: no AWS session")
            return
        self.query_one(ValidationPanel).reset("validating… results appear as each check completes")
        self.run_validation()

    @work(group="validation", exclusive=True, exit_on_error=False)
    async def run_validation(self) -> None:
        # Results are journaled by the run and reach the panel from the journal.
        rollback = self._rollback()
        results = [r async for r in rollback.validate()]
        self.post_message(ValidationFinished(results))

    def on_validation_finished(self, message: ValidationFinished) -> None:
        run = self._run
        if run is not None and run.plan is not None and run.finished_at is not None and not self._finished:
            # The run's result is final once it has been validated (or validation stopped).
            self._finished = True
            try:
                run.finish()
            except JournalError as exc:
                self.notify(f"{exc}", severity="error", timeout=30)
        panel = self.query_one(ValidationPanel)
        if message.error:
            panel.finish(f"validation stopped: {message.error}")
            return
        bad = [r for r in message.results if r.status in ("fail", "could_not_check")]
        verdict = "all checks passed" if not bad else f"{len(bad)} check(s) failed or could not run"
        panel.finish(f"validation done: {len(message.results)} result(s); {verdict}")

    # -------------------------------------------------------------- report

    def action_export(self) -> None:
        self.export_reports(list(self.app.journal.events))

    @work(group="export", exclusive=True, exit_on_error=False)
    async def export_reports(self, events: list[Any]) -> None:
        """Render and write both reports off the UI loop (a long run's journal is large)."""
        app = self.app
        from rollback_cockpit.runbook.report import write_file

        # Next to the headless run's reports: <state-dir>/reports/<run-id>.md / .json
        folder = app.state_dir / "reports"

        def write_both() -> list[str]:
            paths = []
            for fmt in ("md", "json"):
                path = folder / f"{app.journal.run_id}.{fmt}"
                write_file(path, app.services.render_report(events, fmt, "ja"))
                paths.append(str(path))
            return paths

        try:
            paths = await asyncio.to_thread(write_both)
        except Exception as exc:
            log.error("report export failed", exc_info=exc)
            self.notify(f"report export failed: {exc}", severity="error", timeout=20)
            return
        self.journal(ev.NOTE, text="report exported", paths=paths)
        self.post_message(ReportExported(paths))

    def on_report_exported(self, message: ReportExported) -> None:
        self.notify("\n".join(message.paths), title="report written", timeout=30)

    # ---------------------------------------------------------------- quit

    def action_confirm_quit(self) -> None:
        from rollback_cockpit.tui.screens.dialogs import ConfirmScreen

        self.app.push_screen(
            ConfirmScreen("A rollback is running", "Quit anyway? The running step is interrupted; "
                          "the journal keeps what was done so far."),
            self._quit_answered,
        )

    def _quit_answered(self, yes: bool | None) -> None:
        answer = "quit" if yes else "stay"
        if self.journal(ev.NOTE, text=f"quit asked during a rollback: {answer}", quit_answer=answer,
                        by=self.app.operator) and yes:
            self.app.exit()


def _wall_now(clock: Any) -> Any:
    # The JST line shows the operator's real time; a frozen test clock
    # supplies its own so snapshots do not move.
    wall = getattr(clock, "wall_now", None)
    if wall is not None:
        return wall()
    from datetime import UTC, datetime

    return datetime.now(UTC)


def _parse_time(value: Any) -> Any:
    from datetime import datetime

    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _diff_of(plan: Any, steps: list[tuple[str, str]]) -> list[str]:
    """The plan as current → target lines, from the plan if it knows how."""
    rows = plan.diff
    out = []
    for r in rows:
        out.append(f"  {r.resource} {r.field}")
        out.append(f"- {r.current}")
        out.append(f"+ {r.target}")
    return out or [f"  {text}" for _, text in steps]
