"""The environment file: one YAML file describes one environment.

The file is loaded through a small typed schema derived from the dataclasses
below, so every error can name the file, the line and the key (``a.b[2].c``).
Sections an environment does not need may be left out; the rollback kinds
that need them are then not offered (see :func:`offered_kinds`).
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class EnvironmentError_(Exception):
    """Raised with every problem found in one environment file."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(p.render() for p in problems))


# Public name; the trailing underscore only avoids shadowing the builtin.
EnvironmentFileError = EnvironmentError_


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    key: str
    message: str

    def render(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        key = f" {self.key}:" if self.key else ""
        return f"{where}:{key} {self.message}"


# --------------------------------------------------------------------------
# The schema. A field without a default is required.


@dataclass(frozen=True)
class EcsService:
    name: str
    # The task-definition family; when omitted it is read from the service.
    family: str | None = None


@dataclass(frozen=True)
class Ecs:
    cluster: str
    services: list[EcsService]
    stable_timeout_seconds: float = 600.0
    poll_seconds: float = 5.0


@dataclass(frozen=True)
class LambdaFunction:
    name: str
    alias: str = "prod"


@dataclass(frozen=True)
class LambdaSection:
    functions: list[LambdaFunction]


@dataclass(frozen=True)
class StaticSite:
    bucket: str
    distribution_id: str
    # Each release lives under <releases_prefix><release-id>/; the live site
    # is the copy at <live_prefix>. The release marker object names the
    # release that is live now.
    releases_prefix: str = "releases/"
    live_prefix: str = ""
    current_release_key: str = "RELEASE"
    invalidation_timeout_seconds: float = 600.0


@dataclass(frozen=True)
class Application:
    ecs: Ecs | None = None
    lambda_: LambdaSection | None = None
    static_site: StaticSite | None = None


@dataclass(frozen=True)
class IntegrityRule:
    attribute: str
    # One of: S, N, B, BOOL, L, M (DynamoDB type codes).
    type: str | None = None
    required: bool = True


@dataclass(frozen=True)
class Table:
    name: str
    gsis: list[str] = field(default_factory=list)
    expected_items: int | None = None
    tolerance_percent: float = 1.0
    rules: list[IntegrityRule] = field(default_factory=list)
    sample_size: int = 500


@dataclass(frozen=True)
class Migrations:
    # Where migration files live: a local directory or s3://bucket/prefix/.
    location: str
    # Where the current schema version is recorded (an SSM parameter).
    version_parameter: str | None = None


@dataclass(frozen=True)
class Database:
    tables: list[Table]
    migrations: Migrations | None = None


@dataclass(frozen=True)
class Stack:
    name: str


@dataclass(frozen=True)
class Infrastructure:
    stacks: list[Stack]


@dataclass(frozen=True)
class Secret:
    id: str


@dataclass(frozen=True)
class Configuration:
    secrets: list[Secret] = field(default_factory=list)
    parameters: list[str] = field(default_factory=list)
    feature_flags_parameter: str | None = None
    # ECS services restarted after a configuration change.
    restart_services: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Colour:
    alb_dns_name: str
    alb_zone_id: str
    health_url: str


@dataclass(frozen=True)
class Gate:
    max_error_rate_percent: float = 1.0
    monitor_seconds: float = 60.0


@dataclass(frozen=True)
class Traffic:
    hosted_zone_id: str
    record_name: str
    colours: dict[str, Colour]
    active_parameter: str
    record_type: str = "A"
    weight_steps: list[int] = field(default_factory=lambda: [10, 25, 50, 75, 100])
    gate: Gate = field(default_factory=Gate)


@dataclass(frozen=True)
class Emergency:
    target_groups: list[str]
    maintenance_page: str
    live_index: str
    backups: str
    stable_version_parameter: str
    service: str
    desired_count: int = 5


@dataclass(frozen=True)
class Endpoint:
    path: str
    expect_status: int = 200
    expect_keys: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class LoadProbe:
    requests: int = 200
    concurrency: int = 10
    duration_seconds: float = 10.0


@dataclass(frozen=True)
class Validation:
    base_url: str
    endpoints: list[Endpoint] = field(default_factory=list)
    log_group: str | None = None
    window_minutes: int = 30
    error_pattern: str = "ERROR"
    max_error_lines: int = 10
    load_probe: LoadProbe = field(default_factory=LoadProbe)
    settle_minutes: float = 5.0
    admin_ports: list[int] = field(default_factory=lambda: [22, 3389, 3306, 5432, 6379, 27017])
    security_groups: list[str] = field(default_factory=list)
    buckets: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Trigger:
    threshold: float
    # 0 means "breached as soon as one sample is over".
    sustain_minutes: float = 0.0
    enabled: bool = True


@dataclass(frozen=True)
class Triggers:
    # The runbook's four automatic triggers, as data.
    error_rate_percent: Trigger = field(default_factory=lambda: Trigger(5.0, 5.0))
    p95_seconds: Trigger = field(default_factory=lambda: Trigger(2.0, 10.0))
    health_check_failure_percent: Trigger = field(default_factory=lambda: Trigger(50.0, 0.0))
    memory_percent: Trigger = field(default_factory=lambda: Trigger(95.0, 0.0))


@dataclass(frozen=True)
class Metrics:
    # CloudWatch dimension values of the load balancer and its target group,
    # e.g. app/lightningtalk-prod-alb/50dc6c495c0c9188.
    load_balancer: str
    target_group: str
    period_seconds: int = 60


@dataclass(frozen=True)
class Notifications:
    sns_topic_arn: str | None = None


@dataclass(frozen=True)
class Rehearsal:
    """Written only by the rehearsal world into the file it seeds.

    Its presence marks the environment as a rehearsal: the cockpit shows the
    SIMULATE banner and runs on the world's scaled clock.
    """

    speed: float
    real_epoch: float
    sim_epoch: float
    service_url: str
    endpoint_url: str
    scenario: str = "bad-deploy"


@dataclass(frozen=True)
class Environment:
    name: str
    region: str
    profile: str | None = None
    application: Application | None = None
    database: Database | None = None
    infrastructure: Infrastructure | None = None
    configuration: Configuration | None = None
    traffic: Traffic | None = None
    emergency: Emergency | None = None
    validation: Validation | None = None
    metrics: Metrics | None = None
    triggers: Triggers = field(default_factory=Triggers)
    notifications: Notifications | None = None
    rehearsal: Rehearsal | None = None
    # Where the file was read from (not a YAML key).
    source: str = field(default="", metadata={"internal": True})

    @property
    def is_rehearsal(self) -> bool:
        return self.rehearsal is not None


# Keys that are Python keywords or builtins are spelled without the
# trailing underscore in YAML.
def _yaml_key(name: str) -> str:
    return name[:-1] if name.endswith("_") else name


# --------------------------------------------------------------------------
# Which rollback kinds an environment can offer.

KINDS = ("app", "schema", "infra", "config", "bluegreen", "canary", "emergency")


def offered_kinds(env: Environment) -> list[str]:
    app = env.application
    offered = []
    if app and (app.ecs or app.lambda_ or app.static_site):
        offered.append("app")
    if env.database and env.database.migrations:
        offered.append("schema")
    if env.infrastructure and env.infrastructure.stacks:
        offered.append("infra")
    if env.configuration and (env.configuration.secrets or env.configuration.parameters):
        offered.append("config")
    if env.traffic:
        offered.append("bluegreen")
    if app and app.lambda_:
        offered.append("canary")
    if env.emergency:
        offered.append("emergency")
    return offered


# --------------------------------------------------------------------------
# Loading.


def load(path: str | Path) -> Environment:
    """Read and check one environment file; raise EnvironmentFileError."""
    path = Path(path)
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise EnvironmentFileError([Problem(name, None, "", "file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise EnvironmentFileError([Problem(name, None, "", f"cannot read: {exc}")]) from None
    env = loads(text, name)
    return dataclasses.replace(env, source=str(path.resolve()))


def loads(text: str, name: str = "<string>") -> Environment:
    import yaml  # lazy: only commands that read an environment pay for it

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        msg = f"not valid YAML: {exc.problem or exc.context}"
        raise EnvironmentFileError([Problem(name, line, "", msg)]) from None
    except yaml.YAMLError as exc:
        raise EnvironmentFileError([Problem(name, None, "", f"not valid YAML: {exc}")]) from None
    if node is None:
        msg = "the file is empty; it needs at least 'name' and 'region'"
        raise EnvironmentFileError([Problem(name, 1, "", msg)])
    problems: list[Problem] = []
    env = _Builder(name, problems).build(Environment, node, "")
    if problems:
        raise EnvironmentFileError(problems)
    return env


class _Builder:
    def __init__(self, file: str, problems: list[Problem]):
        self.file = file
        self.problems = problems

    def problem(self, node: Any, key: str, message: str) -> None:
        line = node.start_mark.line + 1 if node is not None else None
        self.problems.append(Problem(self.file, line, key, message))

    def build(self, tp: Any, node: Any, key: str) -> Any:
        import yaml

        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin in (typing.Union, types.UnionType):
            inner = [a for a in args if a is not type(None)]
            if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null":
                return None
            return self.build(inner[0], node, key)
        if dataclasses.is_dataclass(tp):
            return self.build_object(tp, node, key)
        if origin is list:
            if not isinstance(node, yaml.SequenceNode):
                self.problem(node, key, f"must be a list, not {_describe(node)}")
                return []
            return [self.build(args[0], item, f"{key}[{i}]") for i, item in enumerate(node.value)]
        if origin is dict:
            if not isinstance(node, yaml.MappingNode):
                self.problem(node, key, f"must be a mapping, not {_describe(node)}")
                return {}
            out = {}
            for k_node, v_node in node.value:
                k = str(k_node.value)
                out[k] = self.build(args[1], v_node, f"{key}.{k}" if key else k)
            return out
        return self.build_scalar(tp, node, key)

    def build_object(self, tp: Any, node: Any, key: str) -> Any:
        import yaml

        if not isinstance(node, yaml.MappingNode):
            self.problem(node, key or "(top level)", f"must be a mapping, not {_describe(node)}")
            return None
        hints = typing.get_type_hints(tp)
        fields = {
            _yaml_key(f.name): f for f in dataclasses.fields(tp) if not f.metadata.get("internal")
        }
        seen: dict[str, Any] = {}
        values: dict[str, Any] = {}
        for k_node, v_node in node.value:
            k = str(k_node.value)
            sub = f"{key}.{k}" if key else k
            if k in seen:
                self.problem(k_node, sub, "appears twice")
                continue
            seen[k] = k_node
            f = fields.get(k)
            if f is None:
                close = difflib.get_close_matches(k, list(fields), n=1, cutoff=0.6)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                valid = ", ".join(sorted(fields))
                self.problem(k_node, sub, f"unknown key{hint} (valid here: {valid})")
                continue
            values[f.name] = self.build(hints[f.name], v_node, sub)
        missing = [
            name
            for name, f in fields.items()
            if f.default is dataclasses.MISSING
            and f.default_factory is dataclasses.MISSING
            and f.name not in values
        ]
        for name in missing:
            sub = f"{key}.{name}" if key else name
            self.problem(node, sub, "required key is missing")
        if missing or any(v is None and not _optional(hints[n]) for n, v in values.items()):
            return None
        try:
            return tp(**values)
        except TypeError as exc:  # pragma: no cover - schema and builder disagree
            self.problem(node, key, str(exc))
            return None

    def build_scalar(self, tp: Any, node: Any, key: str) -> Any:
        import yaml

        if not isinstance(node, yaml.ScalarNode):
            self.problem(node, key, f"must be {_type_name(tp)}, not {_describe(node)}")
            return None
        try:
            raw = yaml.constructor.SafeConstructor().construct_object(node, deep=True)
        except yaml.YAMLError:
            raw = node.value
        if tp is bool:
            if isinstance(raw, bool):
                return raw
        elif tp is int:
            if isinstance(raw, int) and not isinstance(raw, bool):
                return raw
        elif tp is float:
            if isinstance(raw, (int, float)) and not isinstance(raw, bool):
                return float(raw)
        elif tp is str:
            if isinstance(raw, (str, int, float)) and not isinstance(raw, bool) and raw is not None:
                return str(raw)
        shown = "empty" if raw is None else repr(node.value)
        self.problem(node, key, f"must be {_type_name(tp)}, not {shown}")
        return None


def _optional(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType) and type(None) in typing.get_args(tp)


def _type_name(tp: Any) -> str:
    return {str: "text", int: "a whole number", float: "a number", bool: "true or false"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


def _describe(node: Any) -> str:
    import yaml

    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if node.tag == "tag:yaml.org,2002:null":
        return "empty"
    return repr(node.value)
