"""The seeded world matches the environment file: every named resource exists, with its history."""

from __future__ import annotations

import json

from rollback_cockpit.simulate.seed import BAD_RELEASE, DEREGISTERED_REVISION, FAKE_SECRET_VALUE


def test_seeded_env_file_points_at_the_world(bad_world, tools):
    env = tools.load_env(bad_world)
    r = env.rehearsal
    assert r is not None and r.endpoint_url == bad_world.endpoint_url and r.scenario == "bad-deploy"
    assert env.validation.base_url == bad_world.service_url == r.service_url
    # The simulated day lies a day behind: moto Logs accepts it, and the clock is the world's.
    assert 23 * 3600 < r.real_epoch - r.sim_epoch < 25 * 3600
    assert abs(bad_world.clock.time() - (r.sim_epoch + (bad_world.clock.time() - r.sim_epoch))) < 1


def test_ecs_task_definition_history(bad_world, tools):
    env = tools.load_env(bad_world)
    ecs = tools.client(bad_world, "ecs")
    cfg = env.application.ecs
    services = ecs.describe_services(cluster=cfg.cluster, services=[s.name for s in cfg.services])["services"]
    assert [s["serviceName"] for s in services] == [s.name for s in cfg.services]
    for svc, spec in zip(services, cfg.services, strict=True):
        assert svc["taskDefinition"].endswith(f"{spec.family}:5")
        assert svc["runningCount"] == svc["desiredCount"] > 0
        assert svc["networkConfiguration"]["awsvpcConfiguration"]["securityGroups"]
        active = ecs.list_task_definitions(familyPrefix=spec.family, status="ACTIVE")["taskDefinitionArns"]
        inactive = ecs.list_task_definitions(familyPrefix=spec.family, status="INACTIVE")["taskDefinitionArns"]
        assert sorted(int(a.rsplit(":", 1)[1]) for a in active) == [1, 2, 3, 5]
        assert [int(a.rsplit(":", 1)[1]) for a in inactive] == [DEREGISTERED_REVISION]
        live = ecs.describe_task_definition(taskDefinition=f"{spec.family}:5")["taskDefinition"]
        good = ecs.describe_task_definition(taskDefinition=f"{spec.family}:3")["taskDefinition"]
        live_c, good_c = live["containerDefinitions"][0], good["containerDefinitions"][0]
        assert live_c["image"].endswith(f":{BAD_RELEASE}") and not good_c["image"].endswith(f":{BAD_RELEASE}")
        live_names = {e["name"] for e in live_c["environment"]}
        good_names = {e["name"] for e in good_c["environment"]}
        assert live_names != good_names
        # Only the bad revision carries the (fake) plaintext token a security scan should flag.
        assert FAKE_SECRET_VALUE in {e["value"] for e in live_c["environment"]}
        for rev in (1, 2, 3, 4):
            td = ecs.describe_task_definition(taskDefinition=f"{spec.family}:{rev}")["taskDefinition"]
            assert FAKE_SECRET_VALUE not in json.dumps(td["containerDefinitions"])


def test_lambda_secret_parameters(bad_world, tools):
    env = tools.load_env(bad_world)
    lam = tools.client(bad_world, "lambda")
    fn = env.application.lambda_.functions[0]
    versions = [v["Version"] for v in lam.list_versions_by_function(FunctionName=fn.name)["Versions"]]
    assert {"1", "2", "3"} <= set(versions)
    assert lam.get_alias(FunctionName=fn.name, Name=fn.alias)["FunctionVersion"] == "3"

    sm = tools.client(bad_world, "secretsmanager")
    sid = env.configuration.secrets[0].id
    stages = {v["VersionId"]: v.get("VersionStages", []) for v in
              sm.list_secret_version_ids(SecretId=sid)["Versions"]}
    assert len(stages) >= 2
    current = json.loads(sm.get_secret_value(SecretId=sid, VersionStage="AWSCURRENT")["SecretString"])
    previous = json.loads(sm.get_secret_value(SecretId=sid, VersionStage="AWSPREVIOUS")["SecretString"])
    assert current["APP_VERSION"] == BAD_RELEASE and previous["APP_VERSION"] != BAD_RELEASE

    ssm = tools.client(bad_world, "ssm")
    for name in [*env.configuration.parameters, env.configuration.feature_flags_parameter,
                 env.database.migrations.version_parameter]:
        assert len(ssm.get_parameter_history(Name=name)["Parameters"]) >= 2, name
    assert ssm.get_parameter(Name=env.traffic.active_parameter)["Parameter"]["Value"] == "green"
    assert ssm.get_parameter(Name=env.emergency.stable_version_parameter)["Parameter"]["Value"] != BAD_RELEASE


def test_traffic_stack_site_and_backups(bad_world, tools):
    env = tools.load_env(bad_world)
    r53 = tools.client(bad_world, "route53")
    records = r53.list_resource_record_sets(HostedZoneId=env.traffic.hosted_zone_id)["ResourceRecordSets"]
    weighted = {r["SetIdentifier"]: r for r in records if "SetIdentifier" in r}
    assert set(weighted) == set(env.traffic.colours)
    assert weighted["green"]["Weight"] == 100 and weighted["blue"]["Weight"] == 0
    assert weighted["blue"]["AliasTarget"]["DNSName"].rstrip(".") == env.traffic.colours["blue"].alb_dns_name

    cfn, s3 = tools.client(bad_world, "cloudformation"), tools.client(bad_world, "s3")
    stack = cfn.describe_stacks(StackName=env.infrastructure.stacks[0].name)["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    previous_url = {t["Key"]: t["Value"] for t in stack["Tags"]}["rollback-cockpit:previous-template"]
    bucket, _, key = previous_url.removeprefix("s3://").partition("/")
    previous = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    current = cfn.get_template(StackName=stack["StackName"])["TemplateBody"]
    assert BAD_RELEASE in json.dumps(current) and BAD_RELEASE not in previous

    site = env.application.static_site
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=site.bucket)["Contents"]]
    releases = {k.split("/")[1] for k in keys if k.startswith(site.releases_prefix)}
    assert len(releases) >= 3
    marker = s3.get_object(Bucket=site.bucket, Key=site.current_release_key)["Body"].read().decode()
    assert marker in releases and marker.endswith(BAD_RELEASE)
    assert "index.html" in keys and "index.html.backup" not in keys
    m_bucket, _, m_key = env.emergency.maintenance_page.removeprefix("s3://").partition("/")
    assert s3.head_object(Bucket=m_bucket, Key=m_key)["ContentLength"] > 0
    cf = tools.client(bad_world, "cloudfront")
    assert cf.get_distribution(Id=site.distribution_id)["Distribution"]["Id"] == site.distribution_id

    b_bucket, _, prefix = env.emergency.backups.removeprefix("s3://").partition("/")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=b_bucket, Prefix=prefix)["Contents"]]
    backups = {k[len(prefix):].split("/")[0] for k in keys}
    verified = {k[len(prefix):].split("/")[0] for k in keys if k.endswith("/VERIFIED")}
    assert verified and backups - verified
    assert max(backups) not in verified  # the newest backup is not the one to restore


def test_tables_balancers_logs_topic(bad_world, tools):
    env = tools.load_env(bad_world)
    ddb = tools.client(bad_world, "dynamodb")
    total = 0
    for table in env.database.tables:
        desc = ddb.describe_table(TableName=table.name)["Table"]
        assert sorted(g["IndexName"] for g in desc.get("GlobalSecondaryIndexes", [])) == sorted(table.gsis)
        item = ddb.scan(TableName=table.name, Limit=1)["Items"][0]
        for rule in table.rules:
            assert rule.type in item[rule.attribute], (table.name, rule.attribute)
        total += desc["ItemCount"]
    assert total >= 20_000

    elb = tools.client(bad_world, "elbv2")
    lb_name = env.metrics.load_balancer.split("/")[1]
    lb = elb.describe_load_balancers(Names=[lb_name])["LoadBalancers"][0]
    assert lb["LoadBalancerArn"].endswith(env.metrics.load_balancer)
    for name in env.emergency.target_groups:
        tg = elb.describe_target_groups(Names=[name])["TargetGroups"][0]
        assert elb.describe_target_health(TargetGroupArn=tg["TargetGroupArn"])["TargetHealthDescriptions"]
    logs = tools.client(bad_world, "logs")
    groups = logs.describe_log_groups(logGroupNamePrefix=env.validation.log_group)["logGroups"]
    assert [g["logGroupName"] for g in groups] == [env.validation.log_group]
    topics = [t["TopicArn"] for t in tools.client(bad_world, "sns").list_topics()["Topics"]]
    assert env.notifications.sns_topic_arn in topics
