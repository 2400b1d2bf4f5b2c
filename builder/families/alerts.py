"""The alert topic, its email subscription, every alarm the other families asked for (wired to the topic)
and the topic policy that lets exactly those alarms publish. Runs last: it needs every family's alarms."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import awacs.sns
from awacs.aws import (
    Allow,
    ArnEquals,
    Principal,
    Statement,
    StringEquals,
)
from awacs.aws import (
    Condition as PolicyCondition,
)
from awacs.aws import (
    Policy as PolicyDocument,
)
from troposphere import GetAtt, Ref, cloudwatch, sns

from builder import names
from builder.environment import EnvironmentConfig
from builder.families import CheckovSkip, Composition, Family, ParameterSpec
from builder.families.shared import ALARM_THRESHOLD_MULTIPLIER, POLICY_VERSION, add_output, checkov_skips, tags
from builder.pricing import CostError, LineItem, PricingContext
from builder.settings import Pattern, Setting
from builder.template_values import as_number

SKIP_TOPIC_CMK = CheckovSkip("CKV_AWS_26", "customer_managed_key is off: CloudWatch cannot publish to a topic "
                                           "under alias/aws/sns, and a customer-managed key costs monthly")
_EMAIL = (r"(?=.{1,254}\Z)[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"  # at most 254
          r"@[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}")

ALERT_EMAIL: Setting[str | None] = Setting(
    "alert_email", str, None, True, "subscribed to the alert topic (confirm the email AWS sends)",
    shown_default="`alerts-<suffix>@example.com`",
    pattern=Pattern(_EMAIL, "is not an email address such as alerts@example.com"))


def alert_email(config: EnvironmentConfig) -> str:
    """The address subscribed to the alert topic: alert_email, else alerts-<suffix>@example.com."""
    return config.value(ALERT_EMAIL) or f"alerts-{config.suffix}@example.com"


ALERT_EMAIL_PARAMETER = ParameterSpec("AlertEmail", ALERT_EMAIL.name, alert_email,
                                      {"Type": "String", "AllowedPattern": r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
                                       "Description": "Email address subscribed to the alert topic"})


def build(c: Composition) -> None:
    t, config, key = c.template, c.config, c.key
    topic = t.add_resource(sns.Topic(
        "AlertTopic",
        TopicName=names.topic_name(config.stack_prefix, config.suffix),
        Tags=tags(config),
        # Without a customer-managed key the topic is unencrypted: CloudWatch cannot publish to a
        # topic under the AWS-managed alias/aws/sns key, and a key of our own costs money monthly.
        **({"KmsMasterKeyId": Ref(key)} if key is not None else {}),
        **checkov_skips(*([SKIP_TOPIC_CMK] if key is None else [])),
    ))
    t.add_resource(sns.SubscriptionResource(
        "AlertEmailSubscription", Protocol="email", Endpoint=Ref(c.parameters[ALERT_EMAIL_PARAMETER.title]),
        TopicArn=Ref(topic)))
    alarms = [t.add_resource(cloudwatch.Alarm(
        spec.title,
        AlarmName=names.alarm_name(config.stack_prefix, config.suffix, spec.what),
        AlarmDescription=spec.description,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        EvaluationPeriods=1,
        Threshold=Ref(c.parameters[spec.threshold]),
        TreatMissingData="notBreaching",
        AlarmActions=[Ref(topic)],
        OKActions=[Ref(topic)],
        Tags=tags(config),
        **spec.metric,
    )) for spec in c.alarms]
    # Only this stack's alarms (exact ARNs: a name pattern would also match a longer suffix's), in this account.
    t.add_resource(sns.TopicPolicy(
        "AlertTopicPolicy",
        Topics=[Ref(topic)],
        PolicyDocument=PolicyDocument(Version=POLICY_VERSION, Statement=[Statement(
            Sid="CloudWatchAlarmsOfThisStackPublish", Effect=Allow,
            Principal=Principal("Service", ["cloudwatch.amazonaws.com"]),
            Action=[awacs.sns.Publish], Resource=[Ref(topic)],
            Condition=PolicyCondition([StringEquals({"aws:SourceAccount": Ref("AWS::AccountId")}),
                                       ArnEquals({"aws:SourceArn": [GetAtt(a, "Arn") for a in alarms]})]),
        )]),
    ))
    add_output(t, "AlertTopicArn", Ref(topic), "ARN of the alert topic")


def price_alarm(ctx: PricingContext, name: str, props: Mapping[str, Any]) -> list[LineItem]:
    """CloudWatch bills alarms per metric: a metric math alarm counts each metric it reads."""
    queries = props.get("Metrics")
    if queries:
        stats = [q["MetricStat"] for q in queries if isinstance(q, Mapping) and "MetricStat" in q]
        periods = [as_number(s.get("Period")) for s in stats]
    else:
        stats, periods = [props], [as_number(props.get("Period"))]
    metrics = max(len(stats), 1)
    high = any(p is not None and p < 60 for p in periods)
    key = "cloudwatch.high_resolution_alarm_metric" if high else "cloudwatch.alarm_metric"
    label = f"{'high-resolution ' if high else ''}alarm, {metrics} metric{'s' if metrics > 1 else ''}"
    return [ctx.fixed(name, "AWS::CloudWatch::Alarm", label, key, metrics)]


def price_topic(ctx: PricingContext, name: str, props: Mapping[str, Any]) -> list[LineItem]:
    return [ctx.rate(name, "AWS::SNS::Topic", "publishes", "sns.publish")]


def price_subscription(ctx: PricingContext, name: str, props: Mapping[str, Any]) -> list[LineItem]:
    protocol = props.get("Protocol")
    if protocol != "email":
        raise CostError(f"{ctx.stack}.{name}", f"no price row for SNS {protocol!r} deliveries; add one to "
                                               f"builder.pricing")
    return [ctx.rate(name, "AWS::SNS::Subscription", "email notifications", "sns.email")]


FAMILY = Family(
    name="alerts",
    build=build,
    settings=(ALARM_THRESHOLD_MULTIPLIER, ALERT_EMAIL),
    parameters=(ALERT_EMAIL_PARAMETER,),
    pricers={"AWS::CloudWatch::Alarm": price_alarm, "AWS::SNS::Topic": price_topic,
             "AWS::SNS::Subscription": price_subscription},
    free_types=frozenset({"AWS::SNS::TopicPolicy"}),
    checkov_skips=(SKIP_TOPIC_CMK,),
)
