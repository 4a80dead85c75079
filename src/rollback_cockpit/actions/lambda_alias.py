"""Lambda aliases back to the previous *published* version.

The previous version is read from the function's version list (the newest
published version older than the alias's), never computed as ``N-1``. The
function is tagged with where the alias came from and went to, so the same
rollback run again finds the alias already at its target.
"""

from __future__ import annotations

import asyncio
from typing import Any

from rollback_cockpit.actions.steps import DiffRow, Plan, Step, refuse_if_missing
from rollback_cockpit.aws.errors import explain
from rollback_cockpit.aws.session import request_id
from rollback_cockpit.runbook.environment import LambdaFunction, LambdaSection


def _tag_keys(alias: str) -> tuple[str, str]:
    return f"rollback-cockpit:{alias}:rolled-back-from", f"rollback-cockpit:{alias}:rolled-back-to"


def _function_arn(alias_arn: str) -> str:
    # arn:aws:lambda:region:acct:function:name:alias -> without the alias
    return alias_arn.rsplit(":", 1)[0]


async def _published_versions(lam: Any, name: str) -> list[int]:
    versions: list[int] = []
    paginator = lam.get_paginator("list_versions_by_function")
    async for page in paginator.paginate(FunctionName=name):
        versions += [int(v["Version"]) for v in page.get("Versions", []) if v.get("Version", "").isdigit()]
    return sorted(set(versions))


async def plan_lambda(aws: Any, cfg: LambdaSection, *, functions: list[LambdaFunction] | None = None) -> Plan:
    lam = await aws.client("lambda")
    plan = Plan("app", "")

    async def one(fn: LambdaFunction) -> Plan:
        part = Plan("app", "")
        try:
            alias, versions = await asyncio.gather(
                lam.get_alias(FunctionName=fn.name, Name=fn.alias), _published_versions(lam, fn.name)
            )
            tags = (await lam.list_tags(Resource=_function_arn(alias["AliasArn"]))).get("Tags", {})
        except Exception as exc:
            refuse_if_missing(part, exc, action="GetAlias", resource=f"{fn.name}:{fn.alias}")
            return part
        current = alias["FunctionVersion"]
        weights = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
        tag_from, tag_to = _tag_keys(fn.alias)
        label = f"{fn.name}:{fn.alias}"
        if not current.isdigit():
            part.refusals.append(f"Lambda alias {label} points at {current}, not a published version; nothing to roll back to")
            return part
        if tags.get(tag_to) == current and tags.get(tag_from) and not weights:
            target = int(current)
            part.warnings.append(f"{label} was already rolled back from version {tags[tag_from]} to {current}")
        else:
            older = [v for v in versions if v < int(current)]
            if not older:
                part.refusals.append(f"{label}: no published version older than {current} exists")
                return part
            target = older[-1]
        if weights:
            shown = ", ".join(f"version {v}: {w:.0%}" for v, w in weights.items())
            part.warnings.append(f"{label} is splitting traffic ({shown}); the rollback removes the split")
            part.diff.append(DiffRow(f"lambda:{label}", "routing weights", shown, "none"))
        part.diff.append(DiffRow(f"lambda:{label}", "version", current, str(target)))
        part.steps.append(AliasStep(fn.name, fn.alias, current, str(target), _function_arn(alias["AliasArn"])))
        return part

    for part in await asyncio.gather(*(one(f) for f in (functions if functions is not None else cfg.functions))):
        plan.extend(part)
    return plan


class AliasStep(Step):
    TYPE = "lambda-alias"
    PARAMS = ("function", "alias", "current", "target", "function_arn")

    def __init__(self, function: str, alias: str, current: str, target: str, function_arn: str):
        self.function = function
        self.alias = alias
        self.current = current
        self.target = target
        self.function_arn = function_arn
        self.id = f"lambda-alias:{function}:{alias}"
        self.resource = f"lambda:{function}:{alias}"

    def describe(self) -> str:
        return f"point alias {self.function}:{self.alias} at version {self.target} (from {self.current}), no traffic split"

    async def is_done(self, aws: Any) -> bool:
        lam = await aws.client("lambda")
        alias = await lam.get_alias(FunctionName=self.function, Name=self.alias)
        weights = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
        return alias["FunctionVersion"] == self.target and not weights

    async def run(self, aws: Any, progress: Any) -> dict[str, Any]:
        lam = await aws.client("lambda")
        # Checked again just before the change: a version can be deleted between plan and run.
        await lam.get_function(FunctionName=self.function, Qualifier=self.target)
        resp = await lam.update_alias(
            FunctionName=self.function,
            Name=self.alias,
            FunctionVersion=self.target,
            RoutingConfig={"AdditionalVersionWeights": {}},
        )
        evidence = {
            "function": self.function,
            "alias": self.alias,
            "before": self.current,
            "after": resp.get("FunctionVersion", self.target),
            "request_id": request_id(resp),
        }
        tag_from, tag_to = _tag_keys(self.alias)
        try:
            await lam.tag_resource(Resource=self.function_arn, Tags={tag_from: self.current, tag_to: self.target})
        except Exception as exc:  # the rollback stands; only the re-run memory is lost
            evidence["tag_warning"] = explain(exc, action="TagResource", resource=self.function).line()
        return evidence
