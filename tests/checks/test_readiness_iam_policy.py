"""docs/iam-policy.json lists exactly the AWS API actions the cockpit's code calls.

The scanner reads src/rollback_cockpit (the rehearsal world in simulate/ is
left out: it only ever talks to the local moto server) with ``ast``:

- a client is a name bound to ``aws.client("<service>")`` (awaited, or among
  the results of ``asyncio.gather(...)``), in the enclosing functions or at
  module level; a parameter named like a service (``ecs``, ``s3``, ``lam``,
  ``cw`` …) is taken to be that service's client;
- a call is ``<client>.<operation>(...)`` where the operation is in the
  service's botocore model, ``<client>.get_paginator("<operation>")`` or
  ``<client>.get_waiter("<waiter>")`` (the waiter's operation);
- the IAM action is ``<iam prefix>:<OperationName>``, except for the few
  operations whose IAM action is named differently (``ACTION_OVERRIDES``).

On failure the message shows the policy that would match the code.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "rollback_cockpit"
POLICY = ROOT / "docs" / "iam-policy.json"
EXCLUDED = ("simulate",)

# Names a client is conventionally given when passed as a parameter.
CONVENTIONAL = {
    "lam": "lambda",
    "lambda_": "lambda",
    "cw": "cloudwatch",
    "cf": "cloudfront",
    "ddb": "dynamodb",
    "sm": "secretsmanager",
    "secrets": "secretsmanager",
    "cfn": "cloudformation",
    "r53": "route53",
    "elb": "elbv2",
}
SERVICES = (
    "cloudformation cloudfront cloudwatch dynamodb ec2 ecs elbv2 iam lambda logs route53 s3 s3control "
    "secretsmanager sns ssm sts"
).split()
IAM_PREFIX = {"elbv2": "elasticloadbalancing", "s3control": "s3"}
ACTION_OVERRIDES: dict[tuple[str, str], tuple[str, ...]] = {
    ("s3", "ListObjectsV2"): ("s3:ListBucket",),
    ("s3", "ListObjects"): ("s3:ListBucket",),
    ("s3", "HeadBucket"): ("s3:ListBucket",),
    ("s3", "HeadObject"): ("s3:GetObject",),
    ("s3", "CopyObject"): ("s3:GetObject", "s3:PutObject"),
    ("s3", "DeleteObjects"): ("s3:DeleteObject",),
    ("s3", "ListObjectVersions"): ("s3:ListBucketVersions",),
    ("s3", "GetPublicAccessBlock"): ("s3:GetBucketPublicAccessBlock",),
    ("s3", "GetBucketEncryption"): ("s3:GetEncryptionConfiguration",),
    ("s3", "GetBucketLifecycleConfiguration"): ("s3:GetLifecycleConfiguration",),
    ("s3control", "GetPublicAccessBlock"): ("s3:GetAccountPublicAccessBlock",),
    ("lambda", "Invoke"): ("lambda:InvokeFunction",),
}
CLIENT_UTILITIES = {"get_paginator", "get_waiter", "can_paginate", "close", "meta", "exceptions", "generate_presigned_url"}


@dataclass(frozen=True)
class Call:
    file: str
    line: int
    service: str
    operation: str  # botocore OperationName, e.g. DescribeServices


@cache
def _botocore():
    import botocore.session

    return botocore.session.get_session()


@cache
def operations(service: str) -> dict[str, str]:
    """snake_case -> OperationName for a service."""
    from botocore import xform_name

    model = _botocore().get_service_model(service)
    return {xform_name(op): op for op in model.operation_names}


def waiter_operation(service: str, waiter: str) -> str:
    from botocore.waiter import WaiterModel

    config = _botocore().get_waiter_model(service)
    model = WaiterModel(config._waiter_config) if not isinstance(config, WaiterModel) else config
    names = {n: n for n in model.waiter_names}
    from botocore import xform_name

    by_snake = {xform_name(n): n for n in names}
    return model.get_waiter(by_snake.get(waiter, waiter)).operation


def _client_service(node: ast.AST) -> str | None:
    """``aws.client("ecs")`` / ``await aws.client("ecs")`` -> "ecs"."""
    if isinstance(node, ast.Await):
        node = node.value
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "client"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        return node.args[0].value
    return None


def _bindings(body: list[ast.stmt]) -> dict[str, str]:
    """Names bound to clients by the statements of one scope (nested functions excluded)."""
    out: dict[str, str] = {}
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            value = node.value.value if isinstance(node.value, ast.Await) else node.value
            for target in targets:
                service = _client_service(node.value)
                if service and isinstance(target, ast.Name):
                    out[target.id] = service
                elif service and isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
                    # self._ecs = await aws.client("ecs"): kept module-wide (see scan_file)
                    out[f"{target.value.id}.{target.attr}"] = service
                elif isinstance(target, ast.Tuple) and isinstance(value, ast.Call):
                    # a, b = await asyncio.gather(aws.client("a"), aws.client("b"))
                    services = [_client_service(a) for a in value.args]
                    for elt, svc in zip(target.elts, services, strict=False):
                        if svc and isinstance(elt, ast.Name):
                            out[elt.id] = svc
        stack.extend(ast.iter_child_nodes(node))
    return out


def _conventional(name: str) -> str | None:
    if name in SERVICES:
        return name
    return CONVENTIONAL.get(name)


def scan_file(path: Path) -> tuple[list[Call], list[str]]:
    """(calls, problems) of one module."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    rel = str(path.relative_to(ROOT))
    calls: list[Call] = []
    problems: list[str] = []

    def visit(node: ast.AST, scope: dict[str, str], explicit: set[str]) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            inner = dict(scope)
            bound = _bindings(node.body)
            inner.update(bound)
            for child in node.body:
                visit(child, inner, explicit | set(bound))
            for child in node.decorator_list + [a for a in node.args.defaults]:
                visit(child, scope, explicit)
            return
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            receiver, attr = node.func.value, node.func.attr
            service = _client_service(receiver)
            is_explicit = service is not None
            if service is None and isinstance(receiver, ast.Attribute) and isinstance(receiver.value, ast.Name):
                key = f"{receiver.value.id}.{receiver.attr}"
                service = attributes.get(key)
                is_explicit = service is not None
            if service is None and isinstance(receiver, ast.Name):
                service = scope.get(receiver.id)
                is_explicit = receiver.id in explicit
                if service is None:
                    service = _conventional(receiver.id)
            if service is not None:
                ops = operations(service)
                arg = node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else None
                if attr in ops:
                    calls.append(Call(rel, node.lineno, service, ops[attr]))
                elif attr == "get_paginator" and isinstance(arg, str):
                    if arg in ops:
                        calls.append(Call(rel, node.lineno, service, ops[arg]))
                    else:
                        problems.append(f"{rel}:{node.lineno}: {service} has no paginated operation {arg!r}")
                elif attr == "get_waiter" and isinstance(arg, str):
                    calls.append(Call(rel, node.lineno, service, waiter_operation(service, arg)))
                elif is_explicit and attr not in CLIENT_UTILITIES:
                    problems.append(f"{rel}:{node.lineno}: {service} client has no operation {attr!r}")
        for child in ast.iter_child_nodes(node):
            visit(child, scope, explicit)

    # Attribute bindings (self.x = aws.client(...)) hold across the methods of the module.
    attributes = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            attributes.update({k: v for k, v in _bindings(node.body).items() if "." in k})
    module_scope = _bindings(tree.body)
    for stmt in tree.body:
        visit(stmt, module_scope, set(module_scope))
    return calls, problems


def scan(root: Path = SRC) -> tuple[list[Call], list[str]]:
    calls: list[Call] = []
    problems: list[str] = []
    for path in sorted(root.rglob("*.py")):
        if path.relative_to(root).parts[0] in EXCLUDED:
            continue
        c, p = scan_file(path)
        calls += c
        problems += p
    return calls, problems


def iam_actions(call: Call) -> tuple[str, ...]:
    override = ACTION_OVERRIDES.get((call.service, call.operation))
    if override:
        return override
    return (f"{IAM_PREFIX.get(call.service, call.service)}:{call.operation}",)


def policy_actions(path: Path = POLICY) -> set[str]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for st in doc["Statement"]:
        acts = st["Action"]
        out |= {acts} if isinstance(acts, str) else set(acts)
    return out


def policy_for(actions: set[str]) -> dict:
    """The policy document matching ``actions``: one statement per IAM prefix."""
    by_prefix: dict[str, list[str]] = {}
    for a in sorted(actions):
        by_prefix.setdefault(a.split(":")[0], []).append(a)
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "RollbackCockpit" + "".join(w.title() for w in p.split("-")), "Effect": "Allow", "Action": acts, "Resource": "*"}
            for p, acts in by_prefix.items()
        ],
    }


def code_actions() -> tuple[dict[str, list[Call]], list[str]]:
    calls, problems = scan()
    used: dict[str, list[Call]] = {}
    for call in calls:
        for action in iam_actions(call):
            used.setdefault(action, []).append(call)
    return used, problems


def test_policy_matches_the_calls_the_code_makes():
    used, problems = code_actions()
    assert not problems, "\n".join(problems)
    listed = policy_actions()
    missing = sorted(set(used) - listed)
    unused = sorted(listed - set(used))
    suggestion = json.dumps(policy_for(set(used)), indent=2)
    where = "\n".join(f"  {a}: {used[a][0].file}:{used[a][0].line}" for a in missing)
    assert not missing and not unused, (
        f"docs/iam-policy.json is out of date.\nmissing (called by the code):\n{where}\n"
        f"unused (not called): {unused}\nthe policy matching the code:\n{suggestion}"
    )


def test_policy_is_a_valid_allow_only_document():
    doc = json.loads(POLICY.read_text(encoding="utf-8"))
    assert doc["Version"] == "2012-10-17"
    for st in doc["Statement"]:
        assert st["Effect"] == "Allow"
        assert all(":" in a and "*" not in a for a in st["Action"]), "actions are listed one by one, no wildcards"


# --- the scanner itself ----------------------------------------------------

SAMPLE = '''
import asyncio

async def plan(aws):
    ecs = await aws.client("ecs")
    s3, cf = await asyncio.gather(aws.client("s3"), aws.client("cloudfront"))
    await ecs.describe_services(cluster="c", services=["a"])
    await s3.copy_object(Bucket="b", Key="k", CopySource="x")
    await cf.create_invalidation(DistributionId="d", InvalidationBatch={})
    async for page in ecs.get_paginator("list_task_definitions").paginate():
        pass
    await (await aws.client("sts")).get_caller_identity()
    await _helper(await aws.client("lambda"))

    async def inner():
        await ecs.update_service(cluster="c", service="a")
    logs = []
    logs.append(1)

async def _helper(lam):
    await lam.get_alias(FunctionName="f", Name="prod")

class Holder:
    async def open(self, aws):
        self._ssm = await aws.client("ssm")

    async def read(self):
        return await self._ssm.get_parameter(Name="x")


async def wrong(aws):
    ecs = await aws.client("ecs")
    await ecs.describe_servicez()
'''


def test_scanner_finds_every_form():
    path = ROOT / "tests" / "checks" / "_scanner_sample_tmp.py"
    try:
        path.write_text(SAMPLE, encoding="utf-8")
        calls, problems = scan_file(path)
    finally:
        path.unlink(missing_ok=True)
    found = {(c.service, c.operation) for c in calls}
    assert found == {
        ("ecs", "DescribeServices"),
        ("s3", "CopyObject"),
        ("cloudfront", "CreateInvalidation"),
        ("ecs", "ListTaskDefinitions"),
        ("sts", "GetCallerIdentity"),
        ("lambda", "GetAlias"),
        ("ecs", "UpdateService"),
        ("ssm", "GetParameter"),
    }
    assert len(problems) == 1 and "describe_servicez" in problems[0]
    actions = {a for c in calls for a in iam_actions(c)}
    assert {"s3:GetObject", "s3:PutObject", "ecs:ListTaskDefinitions"} <= actions
    assert waiter_operation("ecs", "services_stable") == "DescribeServices"
