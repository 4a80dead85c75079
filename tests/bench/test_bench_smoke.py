"""The benchmark harness runs and writes a well-formed results file (no timing is asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_quick_startup_bench_writes_results(tmp_path):
    out = tmp_path / "RESULTS.md"
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "startup", "--rounds", "1", "--output", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]

    text = out.read_text()
    assert "## Machine" in text and "## Targets" in text
    assert "python -m bench --quick --only startup" in text  # the command to rerun
    assert "| rollback-cockpit --version |" in text

    doc = json.loads(out.with_suffix(".json").read_text())
    assert list(doc["sections"]) == ["startup"]
    probes = doc["sections"]["startup"]["data"]["probes"]
    assert len(probes["rollback-cockpit --version"]) == 1
    assert all(v > 0 for v in probes["rollback-cockpit --version"])
    assert doc["machine"]["versions"]["moto"] != "not installed"
    targets = doc["sections"]["startup"]["targets"]
    assert [t["what"] for t in targets] == ["`rollback-cockpit --version`"]
