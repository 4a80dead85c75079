"""The report, rendered from a recorded journal alone, section by section."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rollback_cockpit.runbook import journal, report

RECORDED = Path(__file__).parent / "data" / "journal-partial.jsonl"


@pytest.fixture
def events():
    return journal.read(RECORDED)


def section(text: str, title: str) -> str:
    """The body of one ### section."""
    start = text.index(f"### {title}\n")
    rest = text[start + len(title) + 5 :]
    end = rest.find("\n### ")
    return rest if end < 0 else rest[:end]


def test_japanese_report_follows_the_runbook_template(events):
    md = report.render(events, "md", "ja")
    assert md.startswith("## ロールバック報告書\n")
    basic = section(md, "基本情報")
    assert "- 実施日時: 2026-11-28 21:00 JST" in basic  # 12:00 UTC
    assert "- 実施者: tanaka / arn:aws:sts::123456789012:assumed-role/oncall/tanaka" in basic
    assert "- ロールバックタイプ: Type A: アプリケーション" in basic
    assert "- 所要時間: 10:00 (10.0 分)" in basic
    assert "- 重大度: P1" in basic
    reason = section(md, "ロールバック理由")
    assert "- トリガー: error_rate_percent" in reason
    assert "5xx after release 2026.11.28" in reason
    assert "error rate 7.9 % > 5 % for 5:00 of 5:00" in reason
    steps = section(md, "実施内容").strip().splitlines()
    assert steps[0] == "1. 21:03:30 api-service: lightningtalk-prod-api:5 → :3 [完了, 180.0 s]"
    assert steps[1].startswith("2. 21:03:30 websocket-service: lightningtalk-prod-websocket:5 → :3 [失敗, 240.0 s] — ECS rolled")
    assert steps[2] == (
        "3. 21:07:30 wait until websocket-service is stable [未実施]"
        " — not run: it needs ecs:websocket-service, which did not complete"
    )
    assert steps[3] == "4. 21:07:31 lightningtalk-api-handler:prod → 2 [実施済みのためスキップ] — already at target"
    result = section(md, "結果")
    assert "- ロールバック: 部分的成功" in result
    assert "- サービス状態: 一部機能制限" in result  # a validation failed
    assert "  - ecs/lightningtalk-prod/websocket-service: failed" in result
    validation = section(md, "ロールバック後の検証")
    assert "- ✓ endpoints · /health: 200 in 12 ms" in validation
    assert "- ✗ logs · ERROR lines: 57 ERROR lines in 30 min (max 10)" in validation
    lists = section(md, "チェックリスト")
    assert "- [x] 影響範囲の特定 — tanaka, 21:02:00: all API users" in lists
    assert "- [x] バックアップの存在確認 — auto, 21:02:30" in lists
    assert "- [ ] 関係者への通知" in lists
    assert "- [x] サービス正常性確認 — auto" in lists
    assert "未完了の事前確認を理由付きで省略: notified: P1, notify after" in lists
    assert "- [ ] 根本原因の調査" in section(md, "フォローアップ")
    assert "- websocket-service needs a look" in section(md, "記録")
    assert "- canary first next time" in section(md, "教訓")


def test_english_report_has_the_same_sections(events):
    md = report.render(events, "md", "en")
    assert md.startswith("## Rollback report\n")
    assert "- Date and time: 2026-11-28 21:00 JST" in section(md, "Basic information")
    assert "- Rollback type: Type A: application" in section(md, "Basic information")
    assert "- Rollback: partial success" in section(md, "Result")
    assert "[failed, 240.0 s]" in section(md, "Steps taken")
    assert "- [ ] Stakeholders notified" in section(md, "Checklists")
    assert "- [ ] Investigate the root cause" in section(md, "Follow-ups")


def test_json_report_and_determinism(events):
    data = json.loads(report.render(events, "json", "en"))
    assert data["run_id"] == "20261128T120000Z-ab12"
    assert data["basic"]["duration_seconds"] == 600.0
    assert data["result"]["rollback"] == "partial"
    assert [s["status"] for s in data["steps"]] == ["done", "failed", "not_run", "skipped"]
    assert data["checklists"]["pre.backup"]["auto"] is True
    for fmt in ("md", "json"):
        for lang in ("ja", "en"):
            assert report.render(events, fmt, lang) == report.render(journal.read(RECORDED), fmt, lang)


def test_unfinished_run_says_so(events):
    cut = [e for e in events if e.type != "run_finished"]
    md = report.render(cut, "md", "en")
    assert "- Rollback: unfinished (the run ended without a result)" in md
    assert "- Duration: —" in md


def test_report_command_writes_a_private_file(tmp_path):
    out = tmp_path / "r.md"
    res = subprocess.run(
        [sys.executable, "-m", "rollback_cockpit", "report", str(RECORDED), "--lang", "en", "-o", str(out), "--state-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    assert out.read_text().startswith("## Rollback report")
    assert out.stat().st_mode & 0o777 == 0o600
    missing = subprocess.run(
        [sys.executable, "-m", "rollback_cockpit", "report", "no-such-run", "--state-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 2 and "no run 'no-such-run'" in missing.stderr


def test_identity_learned_after_the_start_names_the_operator(events):
    from rollback_cockpit.runbook.events import Event

    late = Event(99, "note", "2026-11-28T12:00:05+00:00", events[0].run_id, {"text": "AWS identity", "aws_identity": "arn:aws:iam::1:user/sato"})
    first = Event(1, "run_started", events[0].at, events[0].run_id, {**events[0].data, "operator": {"local_user": "sato", "aws_identity": None}})
    md = report.render([first, late, *events[1:]], "md", "en")
    assert "- Operator: sato / arn:aws:iam::1:user/sato" in md
    assert "AWS identity" not in section(md, "Notes")
