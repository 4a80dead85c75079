"""`rollback-cockpit sim serve` as a subprocess: prints where it is, answers, and stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request


def _port_closed(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((host, int(port))) != 0


def test_sim_serve_prints_answers_and_stops_on_sigterm(tmp_path, tools):
    proc = subprocess.Popen(
        [sys.executable, "-m", "rollback_cockpit", "sim", "serve", "--speed", "30", "--state-dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    try:
        values = {}
        for raw in proc.stdout:  # the lines are flushed as soon as the world is up
            line = raw.decode().strip()
            if line.startswith("#"):
                break
            key, _, value = line.partition("=")
            values[key] = value
        assert set(values) == {"AWS_ENDPOINT_URL", "ROLLBACK_COCKPIT_ENV", "SERVICE_URL"}, values
        assert values["ROLLBACK_COCKPIT_ENV"].startswith(str(tmp_path))

        class Info:
            endpoint_url = values["AWS_ENDPOINT_URL"]

        assert tools.client(Info, "sts").get_caller_identity()["Account"] == "123456789012"
        with urllib.request.urlopen(f"{values['SERVICE_URL']}/_world", timeout=10) as resp:
            assert json.loads(resp.read())["scenario"] == "bad-deploy"

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        assert proc.stdout.read().decode().strip().endswith("stopped")
        assert _port_closed(values["AWS_ENDPOINT_URL"]) and _port_closed(values["SERVICE_URL"])
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def test_sim_serve_help_lists_its_options():
    out = subprocess.run([sys.executable, "-m", "rollback_cockpit", "sim", "serve", "--help"],
                         capture_output=True, text=True, check=True).stdout
    for option in ("--env", "--scenario", "--speed", "--port", "--state-dir"):
        assert option in out
