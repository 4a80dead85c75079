"""The rollback report (ロールバック報告書), rendered from a journal alone.

The report is a pure function of the journal's events: the same journal
gives the same report, every time, in Japanese (the runbook's language, the
default) or English. Nothing here reads the clock or AWS.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rollback_cockpit.runbook import checklists
from rollback_cockpit.runbook import events as ev
from rollback_cockpit.runbook.clock import format_duration, to_jst

KIND_LABELS = {
    "app": ("Type A: アプリケーション", "Type A: application"),
    "schema": ("Type B: データベーススキーマ", "Type B: database schema"),
    "infra": ("Type C: インフラストラクチャ", "Type C: infrastructure"),
    "config": ("Type D: 設定", "Type D: configuration"),
    "bluegreen": ("Blue/Green", "Blue/green"),
    "canary": ("カナリア", "Canary"),
    "emergency": ("緊急ロールバック", "Emergency"),
}
RESULT_LABELS = {
    "success": ("成功", "success"),
    "partial": ("部分的成功", "partial success"),
    "failed": ("失敗", "failed"),
    "aborted": ("中断", "aborted"),
    "running": ("未完了（実行中に終了）", "unfinished (the run ended without a result)"),
    "none": ("ロールバックなし", "no rollback"),
}
STATE_LABELS = {
    "normal": ("正常", "normal"),
    "degraded": ("一部機能制限", "partly degraded"),
    "down": ("停止", "down"),
    "unknown": ("未検証", "not verified"),
}
STATUS_MARKS = {"pass": "✓", "warn": "!", "fail": "✗", "could_not_check": "?"}
FOLLOW_UPS = (
    ("根本原因の調査", "Investigate the root cause"),
    ("再発防止策の策定", "Define measures against recurrence"),
    ("テストケースの追加", "Add test cases"),
    ("ドキュメントの更新", "Update the documentation"),
)

T = {
    "title": ("ロールバック報告書", "Rollback report"),
    "basic": ("基本情報", "Basic information"),
    "when": ("実施日時", "Date and time"),
    "who": ("実施者", "Operator"),
    "kind": ("ロールバックタイプ", "Rollback type"),
    "duration": ("所要時間", "Duration"),
    "env": ("環境", "Environment"),
    "mode": ("モード", "Mode"),
    "run": ("実行ID", "Run id"),
    "severity": ("重大度", "Severity"),
    "reason": ("ロールバック理由", "Reason for the rollback"),
    "trigger": ("トリガー", "Trigger"),
    "detected": ("検知", "Detected"),
    "decision": ("判断", "Decision"),
    "steps": ("実施内容", "Steps taken"),
    "result": ("結果", "Result"),
    "rollback": ("ロールバック", "Rollback"),
    "state": ("サービス状態", "Service state"),
    "data": ("データ影響", "Data impact"),
    "validation": ("ロールバック後の検証", "Post-rollback validation"),
    "checklists": ("チェックリスト", "Checklists"),
    "follow": ("フォローアップ", "Follow-ups"),
    "lessons": ("教訓", "Lessons"),
    "notes": ("記録", "Notes"),
    "none": ("なし", "none"),
    "no_steps": ("実施したステップはありません", "No steps were taken"),
    "skipped": ("実施済みのためスキップ", "skipped, already done"),
    "failed": ("失敗", "failed"),
    "done": ("完了", "done"),
    "started_only": ("開始後に記録なし", "started, no outcome recorded"),
    "not_run": ("未実施", "not run"),
    "phase_pre": ("事前確認", "Before"),
    "phase_during": ("実行中", "During"),
    "phase_post": ("事後確認", "After"),
    "override": ("未完了の事前確認を理由付きで省略", "Open pre-checks overridden with a reason"),
    "minutes": ("分", "min"),
    "by": ("確認者", "by"),
}


def _t(key: str, lang: str) -> str:
    ja, en = T[key]
    return ja if lang == "ja" else en


def _label(table: dict[str, tuple[str, str]], key: str, lang: str) -> str:
    pair = table.get(key)
    if pair is None:
        return key
    return pair[0] if lang == "ja" else pair[1]


@dataclass
class StepOutcome:
    step: str
    describe: str
    resource: str = ""
    status: str = "started"  # started | done | skipped | failed | not_run
    started_at: str | None = None
    finished_at: str | None = None
    duration_s: float | None = None
    detail: str = ""


@dataclass
class Summary:
    """Everything the report says, derived from the events."""

    run_id: str = ""
    environment: str = ""
    region: str = ""
    mode: str = ""
    operator: str = ""
    started_at: str | None = None
    finished_at: str | None = None
    kind: str | None = None
    severity: str = ""
    reason: str = ""
    trigger: str = ""
    detected: list[str] = field(default_factory=list)
    decisions: list[str] = field(default_factory=list)
    steps: list[StepOutcome] = field(default_factory=list)
    result: str = "running"
    per_resource: dict[str, str] = field(default_factory=dict)
    service_state: str = "unknown"
    data_impact: str = ""
    validation: list[dict[str, Any]] = field(default_factory=list)
    ticks: dict[str, dict[str, Any]] = field(default_factory=dict)
    overrides: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    lessons: list[str] = field(default_factory=list)

    @property
    def duration_s(self) -> float | None:
        if not self.started_at or not self.finished_at:
            return None
        return (datetime.fromisoformat(self.finished_at) - datetime.fromisoformat(self.started_at)).total_seconds()


def summarise(events: Iterable[ev.Event]) -> Summary:
    s = Summary()
    steps: dict[str, StepOutcome] = {}
    local_user = ""
    for e in events:
        d = e.data
        s.run_id = s.run_id or e.run_id
        if e.type == ev.RUN_STARTED:
            s.started_at = s.started_at or e.at
            s.environment = d.get("environment", s.environment)
            s.region = d.get("region", s.region)
            s.mode = d.get("mode", s.mode)
            s.operator = _operator(d) or s.operator
            op = d.get("operator")
            local_user = op.get("local_user", "") if isinstance(op, dict) else local_user
            s.kind = d.get("kind") or s.kind
            s.severity = d.get("severity", s.severity) or s.severity
            s.reason = d.get("reason", s.reason) or s.reason
            s.trigger = d.get("trigger", s.trigger) or s.trigger
            if d.get("approved_by"):
                s.decisions.append(f"{_jst(e.at)} {d.get('kind', '')} (approved by {d['approved_by']})")
        elif e.type == ev.DETECTED:
            what = d.get("trigger") or d.get("by") or ""
            s.detected.append(f"{_jst(e.at)} {what} {d.get('text', '')}".strip())
        elif e.type == ev.DECISION_TAKEN:
            kind = d.get("kind", "")
            if kind and kind != "none":
                s.kind = kind
            approval = f" (approved by {d['approved_by']})" if d.get("approved_by") else ""
            s.decisions.append(f"{_jst(e.at)} {kind} — {d.get('reason', '')}".strip(" —") + approval)
            s.severity = d.get("severity") or s.severity
            if d.get("reason") and not s.reason:
                s.reason = d["reason"]
        elif e.type == ev.PLAN_SHOWN:
            s.kind = d.get("kind") or s.kind
        elif e.type in (ev.STEP_STARTED, ev.STEP_FINISHED, ev.STEP_SKIPPED, ev.STEP_FAILED):
            sid = str(d.get("step", ""))
            out = steps.get(sid)
            if out is None:
                out = steps[sid] = StepOutcome(sid, d.get("describe", sid), d.get("resource", ""))
                s.steps.append(out)
            out.describe = d.get("describe") or out.describe
            out.resource = d.get("resource") or out.resource
            if e.type == ev.STEP_STARTED:
                out.started_at = e.at
            else:
                out.finished_at = e.at
                out.started_at = out.started_at or e.at
                out.duration_s = d.get("duration_s", out.duration_s)
                out.status = {ev.STEP_FINISHED: "done", ev.STEP_SKIPPED: "skipped", ev.STEP_FAILED: "failed"}[e.type]
                if e.type == ev.STEP_SKIPPED and d.get("outcome") in ("blocked", "aborted"):
                    out.status = "not_run"
                if e.type == ev.STEP_FAILED:
                    out.detail = " — ".join(x for x in (d.get("error", ""), d.get("hint", "")) if x)
                elif e.type == ev.STEP_SKIPPED:
                    out.detail = d.get("reason", "")
        elif e.type == ev.VALIDATION_RESULT:
            s.validation.append(
                {k: d.get(k, "") for k in ("check", "name", "status", "summary")}
            )
        elif e.type == ev.CHECKLIST_TICKED:
            s.ticks[f"{d.get('phase')}.{d.get('item')}"] = {
                "by": d.get("by", ""),
                "at": e.at,
                "evidence": d.get("evidence", ""),
                "auto": bool(d.get("auto")),
            }
        elif e.type == ev.CHECKLIST_OVERRIDDEN:
            s.overrides.append(f"{', '.join(d.get('open', []))}: {d.get('reason', '')}")
        elif e.type == ev.NOTE:
            if d.get("aws_identity"):
                # The cockpit learns the STS identity after the run started.
                s.operator = _operator({"operator": {"local_user": local_user, "aws_identity": d["aws_identity"]}})
                continue
            (s.lessons if d.get("lesson") else s.notes).append(str(d.get("text", "")))
        elif e.type == ev.RUN_FINISHED:
            s.finished_at = e.at
            s.result = d.get("result", s.result)
            s.per_resource = dict(d.get("per_resource") or {})
            s.data_impact = d.get("data_impact", s.data_impact) or s.data_impact
            if d.get("service_state"):
                s.service_state = d["service_state"]
    if s.service_state == "unknown" and s.validation:
        s.service_state = _service_state(s.validation)
    return s


def _operator(d: dict[str, Any]) -> str:
    op = d.get("operator")
    if isinstance(op, dict):
        parts = [op.get("local_user"), op.get("aws_identity") or op.get("arn")]
        return " / ".join(p for p in parts if p)
    return str(op or "")


def _service_state(results: list[dict[str, Any]]) -> str:
    endpoint = [r for r in results if r.get("check") == "endpoints"]
    if endpoint and all(r.get("status") == "fail" for r in endpoint):
        return "down"
    if any(r.get("status") in ("fail", "could_not_check") for r in results):
        return "degraded"
    return "normal"


def _jst(iso: str | None) -> str:
    if not iso:
        return "—"
    return to_jst(iso).strftime("%Y-%m-%d %H:%M JST")


def _jst_time(iso: str | None) -> str:
    return to_jst(iso).strftime("%H:%M:%S") if iso else "--:--:--"


def render(events: Iterable[ev.Event], fmt: str = "md", lang: str = "ja") -> str:
    """The report of one run as Markdown or JSON text."""
    if fmt not in ("md", "json"):
        raise ValueError(f"unknown report format {fmt!r} (md or json)")
    if lang not in ("ja", "en"):
        raise ValueError(f"unknown language {lang!r} (ja or en)")
    s = summarise(list(events))
    if fmt == "json":
        return json.dumps(_as_json(s, lang), ensure_ascii=False, indent=2) + "\n"
    return _as_markdown(s, lang)


def _as_json(s: Summary, lang: str) -> dict[str, Any]:
    return {
        "run_id": s.run_id,
        "lang": lang,
        "basic": {
            "date_jst": _jst(s.started_at),
            "started_at": s.started_at,
            "finished_at": s.finished_at,
            "operator": s.operator,
            "environment": s.environment,
            "region": s.region,
            "mode": s.mode,
            "kind": s.kind,
            "kind_label": _label(KIND_LABELS, s.kind or "", lang) if s.kind else None,
            "duration_seconds": s.duration_s,
            "severity": s.severity,
        },
        "reason": {"trigger": s.trigger, "text": s.reason, "detected": s.detected, "decisions": s.decisions},
        "steps": [o.__dict__ for o in s.steps],
        "result": {
            "rollback": s.result,
            "per_resource": s.per_resource,
            "service_state": s.service_state,
            "data_impact": s.data_impact or None,
        },
        "validation": s.validation,
        "checklists": s.ticks,
        "overrides": s.overrides,
        "follow_ups": [ja if lang == "ja" else en for ja, en in FOLLOW_UPS],
        "notes": s.notes,
        "lessons": s.lessons,
    }


def _as_markdown(s: Summary, lang: str) -> str:
    t = lambda key: _t(key, lang)  # noqa: E731 - a local shorthand keeps the template readable
    none = t("none")
    lines = [f"## {t('title')}", "", f"### {t('basic')}", ""]
    duration = f"{format_duration(s.duration_s)} ({s.duration_s / 60:.1f} {t('minutes')})" if s.duration_s is not None else "—"
    lines += [
        f"- {t('when')}: {_jst(s.started_at)}",
        f"- {t('who')}: {s.operator or '—'}",
        f"- {t('kind')}: {_label(KIND_LABELS, s.kind, lang) if s.kind else '—'}",
        f"- {t('duration')}: {duration}",
        f"- {t('env')}: {s.environment or '—'} ({s.region or '—'}, {s.mode or '—'})",
        f"- {t('severity')}: {s.severity or '—'}",
        f"- {t('run')}: {s.run_id}",
        "",
        f"### {t('reason')}",
        "",
    ]
    if s.trigger:
        lines.append(f"- {t('trigger')}: {s.trigger}")
    if s.reason:
        lines.append(f"- {s.reason}")
    if not (s.trigger or s.reason or s.detected or s.decisions):
        lines.append("—")
    for item in s.detected:
        lines.append(f"- {t('detected')}: {item}")
    for item in s.decisions:
        lines.append(f"- {t('decision')}: {item}")
    lines += ["", f"### {t('steps')}", ""]
    if not s.steps:
        lines.append(t("no_steps"))
    for i, o in enumerate(s.steps, 1):
        status = {
            "done": t("done"),
            "skipped": t("skipped"),
            "failed": t("failed"),
            "not_run": t("not_run"),
            "started": t("started_only"),
        }[o.status]
        took = f", {o.duration_s:.1f} s" if o.duration_s is not None else ""
        detail = f" — {o.detail}" if o.detail else ""
        lines.append(f"{i}. {_jst_time(o.started_at)} {o.describe} [{status}{took}]{detail}")
    lines += [
        "",
        f"### {t('result')}",
        "",
        f"- {t('rollback')}: {_label(RESULT_LABELS, s.result, lang)}",
        f"- {t('state')}: {_label(STATE_LABELS, s.service_state, lang)}",
        f"- {t('data')}: {s.data_impact or none}",
    ]
    for resource, outcome in sorted(s.per_resource.items()):
        lines.append(f"  - {resource}: {outcome}")
    if s.validation:
        lines += ["", f"### {t('validation')}", ""]
        for r in s.validation:
            lines.append(f"- {STATUS_MARKS.get(r['status'], '?')} {r['check']} · {r['name']}: {r['summary']}")
    lines += ["", f"### {t('checklists')}", ""]
    for phase in checklists.PHASES:
        lines.append(f"**{t('phase_' + phase)}**")
        lines.append("")
        for it in checklists.items():
            if it.phase != phase:
                continue
            tick = s.ticks.get(f"{phase}.{it.id}")
            mark = "x" if tick else " "
            extra = ""
            if tick:
                who = "auto" if tick["auto"] else tick["by"]
                extra = f" — {who}, {_jst_time(tick['at'])}"
                if tick["evidence"]:
                    extra += f": {tick['evidence']}"
            lines.append(f"- [{mark}] {it.label(lang)}{extra}")
        lines.append("")
    for o in s.overrides:
        lines.append(f"- {t('override')}: {o}")
    if s.overrides:
        lines.append("")
    lines += [f"### {t('follow')}", ""]
    lines += [f"- [ ] {ja if lang == 'ja' else en}" for ja, en in FOLLOW_UPS]
    if s.notes:
        lines += ["", f"### {t('notes')}", ""] + [f"- {n}" for n in s.notes]
    lines += ["", f"### {t('lessons')}", ""]
    lines += [f"- {n}" for n in s.lessons] if s.lessons else ["—"]
    return "\n".join(line for line in lines) + "\n"


def write_file(path: Any, text: str) -> None:
    """Reports name people and resources: written readable by the owner only."""
    from pathlib import Path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
