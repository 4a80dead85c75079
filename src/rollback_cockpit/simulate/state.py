"""How bad is each resource kind right now? Read from the world's own state.

Each evaluator returns a badness between 0 (good) and 1 (the bad state the
scenario seeded), so a half-finished rollout or a 50/50 traffic split reads
as half bad. ECS is read from moto's in-process backend on every tick (it
changes on the world's ticks); the others are read with ordinary API calls,
at most once a second.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from rollback_cockpit.simulate.seed import BAD_RELEASE, SCHEMA_BAD, Seeded

KINDS = ("ecs", "lambda", "static_site", "secret", "parameter", "schema", "stack", "traffic")


class WorldState:
    def __init__(self, env: Any, seeded: Seeded, clients: Callable[[str], Any], dynamics: Any | None):
        self.env = env
        self.seeded = seeded
        self.clients = clients
        self.dynamics = dynamics
        self._cache: dict[str, tuple[float, float]] = {}
        self._images: dict[str, str] = {}

    def badness(self, kinds: tuple[str, ...]) -> float:
        worst = 0.0
        for kind in kinds:
            worst = max(worst, self.kind_badness(kind))
        return worst

    def kind_badness(self, kind: str) -> float:
        if kind == "ecs":
            return self.ecs()
        cached = self._cache.get(kind)
        if cached and time.monotonic() - cached[0] < 1.0:
            return cached[1]
        try:
            value = getattr(self, "_lambda" if kind == "lambda" else kind)()
        except Exception:  # a half-made change (a deleted object, a moving stage) reads as bad
            value = 1.0
        self._cache[kind] = (time.monotonic(), value)
        return value

    def invalidate(self) -> None:
        self._cache.clear()

    # -- one evaluator per kind ------------------------------------------

    def ecs(self) -> float:
        if self.dynamics is None:
            return 0.0
        running = self.dynamics.running_by_task_definition()
        total = sum(running.values())
        if not total:
            return 1.0  # nothing running is as bad as it gets
        bad = sum(n for td, n in running.items() if self._is_bad_task_definition(td))
        return bad / total

    def _is_bad_task_definition(self, td: str) -> bool:
        image = self._images.get(td)
        if image is None:
            try:
                image = self.dynamics.backend.describe_task_definition(td).container_definitions[0]["image"]
            except Exception:
                image = ""
            self._images[td] = image
        return image.rsplit(":", 1)[-1] in self.seeded.bad_image_tags

    def _lambda(self) -> float:
        lam = self.clients("lambda")
        worst = 0.0
        for fn in self.env.application.lambda_.functions:
            alias = lam.get_alias(FunctionName=fn.name, Name=fn.alias)
            bad_versions = self.seeded.bad_lambda_versions.get(fn.name, set())
            extra = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
            weight_extra = sum(extra.values())
            bad = (1 - weight_extra) if alias["FunctionVersion"] in bad_versions else 0.0
            bad += sum(w for v, w in extra.items() if v in bad_versions)
            worst = max(worst, bad)
        return worst

    def static_site(self) -> float:
        site = self.env.application.static_site
        s3 = self.clients("s3")
        marker = s3.get_object(Bucket=site.bucket, Key=site.current_release_key)["Body"].read().decode().strip()
        index = s3.get_object(Bucket=site.bucket, Key=f"{site.live_prefix}index.html")["Body"].read().decode()
        # The marker and the live files must both have moved off the bad release.
        return max(float(marker == self.seeded.bad_release_id), float(BAD_RELEASE in index))

    def secret(self) -> float:
        sm = self.clients("secretsmanager")
        worst = 0.0
        for secret in self.env.configuration.secrets:
            current = sm.get_secret_value(SecretId=secret.id, VersionStage="AWSCURRENT")["VersionId"]
            worst = max(worst, float(current in self.seeded.bad_secret_versions.get(secret.id, set())))
        return worst

    def parameter(self) -> float:
        ssm = self.clients("ssm")
        names = list(self.env.configuration.parameters)
        if self.env.configuration.feature_flags_parameter:
            names.append(self.env.configuration.feature_flags_parameter)
        worst = 0.0
        for name in names:
            value = ssm.get_parameter(Name=name)["Parameter"]["Value"]
            worst = max(worst, float(value == self.seeded.bad_parameter_values.get(name)))
        return worst

    def schema(self) -> float:
        migrations = self.env.database.migrations
        ssm = self.clients("ssm")
        version = ssm.get_parameter(Name=migrations.version_parameter)["Parameter"]["Value"]
        return float(version == SCHEMA_BAD)

    def stack(self) -> float:
        cfn = self.clients("cloudformation")
        worst = 0.0
        for stack in self.env.infrastructure.stacks:
            body = cfn.get_template(StackName=stack.name)["TemplateBody"]
            text = body if isinstance(body, str) else json.dumps(body)
            worst = max(worst, float(self.seeded.bad_stack_marker in text))
        return worst

    def traffic(self) -> float:
        t = self.env.traffic
        r53 = self.clients("route53")
        records = r53.list_resource_record_sets(HostedZoneId=self.seeded.hosted_zone_id)["ResourceRecordSets"]
        weights = {r.get("SetIdentifier"): r.get("Weight", 0) for r in records
                   if r["Name"].rstrip(".") == t.record_name.rstrip(".") and "SetIdentifier" in r}
        total = sum(weights.values())
        return weights.get(self.seeded.bad_colour, 0) / total if total else 1.0

