"""What the cockpit quotes from outside — an error page, an ERROR log line — is masked.

The validation shows why a check failed: a 5xx body, the most frequent error
messages. Both may carry a password; the planted one must appear nowhere.
"""

from __future__ import annotations

import http.server
import threading
import time

from tests.reliability.conftest import write_env

MARKER = "PLANTED-SECRET-c41d"


class _Leaky(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"Internal error: connect failed password={MARKER} user=app".encode()
        self.send_response(500)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_error_pages_and_log_lines_are_masked(cli, boto, tmp_path, state_dir):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Leaky)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        logs = boto("logs")
        logs.create_log_group(logGroupName="/aws/ecs/lightningtalk-prod")
        logs.create_log_stream(logGroupName="/aws/ecs/lightningtalk-prod", logStreamName="api/1")
        now = int(time.time() * 1000)
        logs.put_log_events(
            logGroupName="/aws/ecs/lightningtalk-prod",
            logStreamName="api/1",
            logEvents=[{"timestamp": now - 60_000 + i, "message": f"ERROR db auth failed password={MARKER}"} for i in range(20)],
        )
        env = write_env(
            tmp_path / "env.yaml",
            extra=(
                "validation:\n"
                f"  base_url: http://127.0.0.1:{server.server_port}\n"
                "  endpoints:\n    - {path: /health}\n"
                "  log_group: /aws/ecs/lightningtalk-prod\n"
            ),
        )
        out_json = tmp_path / "validation.json"
        got = cli("validate", "--env", env, "--only", "endpoints", "--only", "logs", "--json", out_json)
    finally:
        server.shutdown()
    assert got.code == 1, got.text  # both checks fail, and say why …
    assert "HTTP 500" in got.text and "ERROR db auth failed password=****" in got.text
    written = [p for p in [*state_dir.rglob("*"), out_json] if p.is_file()]
    assert out_json in written
    leaks = ["the output"] if MARKER in got.text else []
    leaks += [str(p) for p in written if MARKER.encode() in p.read_bytes()]
    assert not leaks, leaks  # … without quoting the password
    assert out_json.stat().st_mode & 0o777 == 0o600
