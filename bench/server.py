"""The bench's own local AWS: a moto server in a separate process on 127.0.0.1.

A separate process, not a thread of the harness, so the server's work never
competes with the harness (or an in-process contender) for one GIL — as with
AWS, the server's time is somebody else's CPU.

Run as ``python -m bench.server PORT``; it applies the rehearsal world's moto
patches (percentile statistics for GetMetricData, which the cockpit asks for
exactly as on AWS) and two bench-only patches (``finish_rollouts``,
``page_logs_once``, see there), and serves until killed.
``MOTO_ECS_SERVICE_RUNNING`` in its environment makes moto report that many
running tasks for every service it creates, so ``aws ecs wait
services-stable`` and the cockpit's own wait can succeed (moto never
animates a rollout on its own).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REGION = "ap-northeast-1"
RUNNING_TASKS = 2  # MOTO_ECS_SERVICE_RUNNING; the seeded services want exactly this many
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LocalAws:
    url: str
    process: subprocess.Popen

    def reset(self) -> None:
        """Wipe every backend: the world is seeded afresh before each timed run."""
        req = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
        urllib.request.urlopen(req, timeout=30).read()

    def client_env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """The environment a contender process runs with: the endpoint, dummy keys, the region."""
        env = dict(os.environ if base is None else base)
        for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
            env.pop(key, None)
        env.update(CREDENTIALS)
        env.update(
            {
                "AWS_ENDPOINT_URL": self.url,
                "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION,
                # No ~/.aws on this machine must change what is measured.
                "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                "AWS_EC2_METADATA_DISABLED": "true",
                "AWS_PAGER": "",
            }
        )
        return env

    def boto(self, service: str):
        import boto3
        from botocore.config import Config

        return boto3.client(
            service,
            region_name=REGION,
            endpoint_url=self.url,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            config=Config(retries={"total_max_attempts": 1}, max_pool_connections=20),
        )


@contextlib.contextmanager
def local_aws(log_path: Path | None = None) -> Iterator[LocalAws]:
    port = free_port()
    env = dict(os.environ)
    env["MOTO_ECS_SERVICE_RUNNING"] = str(RUNNING_TASKS)
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.server", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=Path(__file__).resolve().parent.parent,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the bench's moto server exited with {proc.returncode} (log: {log_path})")
            try:
                urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the bench's moto server did not answer within 30 s") from None
                time.sleep(0.05)
        yield LocalAws(url, proc)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if log is not subprocess.DEVNULL:
            log.close()


def page_logs_once() -> None:
    """Bench-only: moto's FilterLogEvents pages in O(page) instead of O(stream).

    moto 5.2.5 re-filters (building a filter object per event) and re-sorts
    every event of the group for every page, then finds the page's start by
    a linear search for the token's event: counting N events costs N²/10,000
    filter calls, 8 s for 100k and ~15 min for 1M on this machine. CloudWatch
    does not page that way, and the bench measures the counting side, so the
    filtered list of one query is computed once and paged from. Same answers,
    same tokens, same page size.
    """
    from moto.logs import models

    original = models.LogGroup.filter_log_events
    cache: dict[tuple, tuple[list, dict]] = {}

    def filter_log_events(self, log_group_name, log_stream_names, start_time, end_time, limit, next_token,
                          filter_pattern, interleaved):
        streams = [s for name, s in self.streams.items() if not log_stream_names or name in log_stream_names]
        key = (log_group_name, tuple(id(s) for s in streams), tuple(len(s.events) for s in streams),
               start_time, end_time, filter_pattern, interleaved)
        if not next_token or key not in cache:
            # Bounded, and per query: concurrent readers (one per time slice) page side by side.
            while len(cache) >= 64:
                cache.pop(next(iter(cache)))
            events, token, searched = original(self, log_group_name, log_stream_names, start_time, end_time,
                                               10**12, None, filter_pattern, interleaved)
            cache[key] = (events, {(e["logStreamName"], e["eventId"]): i for i, e in enumerate(events)})
        events, index = cache[key]
        limit = limit or 10000
        first = 0
        if next_token:
            try:
                group, stream_name, event_id = next_token.split("@")
                first = index[(stream_name, event_id)] + 1 if group == log_group_name else None
            except (ValueError, KeyError):
                first = None
            if first is None:
                return [], None, []
        page = events[first : first + limit]
        token = None
        if page and first + limit < len(events):
            token = f"{log_group_name}@{page[-1]['logStreamName']}@{page[-1]['eventId']}"
        searched = [{"logStreamName": s.log_stream_name, "searchedCompletely": True} for s in streams]
        return page, token, searched

    models.LogGroup.filter_log_events = filter_log_events


def finish_rollouts() -> None:
    """Bench-only: an ECS update is a rollout that has already finished.

    moto 5.2.5 stores the new task definition on the service but leaves the
    PRIMARY deployment on the old one, so a waiter that checks what the
    primary deployment runs (the cockpit's does, as it should on AWS) never
    sees the rollout end. With this, the service looks as it does on AWS once
    the rollout is over: one PRIMARY deployment, COMPLETED, on the new
    revision's ARN; with ``MOTO_ECS_SERVICE_RUNNING`` its counts are
    desired = running. Every contender sees the same server.
    """
    from moto.ecs import models

    original = models.EC2ContainerServiceBackend.update_service

    def update_service(self, service_properties):
        task_definition = service_properties.get("task_definition")
        service = original(self, service_properties)
        if task_definition and service.deployments:
            arn = self.describe_task_definition(task_definition).arn
            service.deployments[0].update(taskDefinition=arn, rolloutState="COMPLETED")
        return service

    models.EC2ContainerServiceBackend.update_service = update_service


class RequestCounts:
    """WSGI middleware: AWS requests by operation; ``GET /bench/requests`` returns them and starts over."""

    PATH = "/bench/requests"

    def __init__(self, app):
        self.app = app
        self.counts: dict[str, int] = {}
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") == self.PATH:
            with self.lock:
                body, self.counts = json.dumps(self.counts).encode(), {}
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        if not environ.get("PATH_INFO", "").startswith("/moto-api"):
            op = self.operation(environ)
            with self.lock:
                self.counts[op] = self.counts.get(op, 0) + 1
        return self.app(environ, start_response)

    @staticmethod
    def operation(environ) -> str:
        target = environ.get("HTTP_X_AMZ_TARGET")
        if target:
            return target.rsplit(".", 1)[-1]
        path = environ.get("PATH_INFO", "")
        if "/operation/" in path:
            return path.rsplit("/", 1)[-1]
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        if "Action" in query:
            return query["Action"][0]
        if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length)
            environ["wsgi.input"] = io.BytesIO(body)
            form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
            if "Action" in form:
                return form["Action"][0]
        return f"{environ.get('REQUEST_METHOD')} {path}"


def request_counts(url: str) -> dict[str, int]:
    """The requests the server answered since the last call, by operation."""
    return json.loads(urllib.request.urlopen(f"{url}{RequestCounts.PATH}", timeout=10).read())


def serve(port: int) -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    from rollback_cockpit.simulate import patches

    patches.apply()
    page_logs_once()
    finish_rollouts()
    app = RequestCounts(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=MotoRequestHandler)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    print(f"moto server on 127.0.0.1:{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    serve(int(sys.argv[1]))
