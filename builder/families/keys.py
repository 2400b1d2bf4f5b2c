"""The customer-managed KMS key and its alias (synth-time: only with customer_managed_key), one per stack."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import awacs.kms
from awacs.aws import Allow, Principal, Statement, StringEquals
from awacs.aws import Condition as PolicyCondition
from awacs.aws import Policy as PolicyDocument
from troposphere import GetAtt, Ref, Sub, kms

from builder import names
from builder.families import Composition, DataHolder, Family
from builder.families.shared import POLICY_VERSION, account_root, add_output, retention, tags
from builder.pricing import PRICES, LineItem, PricingContext, enabled
from builder.settings import Setting

KEY_MONTH_USD = PRICES["us-east-1"]["kms.key"].usd  # what the settings table and the rotation note quote
CUSTOMER_MANAGED_KEY: Setting[bool] = Setting(
    "customer_managed_key", bool, False, False,
    "one KMS key encrypts topic, bucket and table (the replica stack gets its own)",
    f"about {KEY_MONTH_USD:g} USD per key per month")
KEY = "AWS::KMS::Key"
# A key's immutable properties (KeySpec, KeyUsage, MultiRegion, Origin) make an update fail, never a replacement.
KEY_HOLDS_DATA = DataHolder(KEY, "access to what was encrypted under it (objects, items): S3 and DynamoDB do not "
                                 "re-encrypt, so it becomes unreadable when the key's deletion window ends")
ROTATION_NOTE = ("KMS keys rotate yearly: each of the first two rotations adds the key-month price again "
                 f"(so up to {3 * KEY_MONTH_USD:g} USD a key from the third year)")

_ADMIN = [awacs.kms.DescribeKey, awacs.kms.GetKeyPolicy, awacs.kms.PutKeyPolicy,
          awacs.kms.GetKeyRotationStatus, awacs.kms.EnableKeyRotation, awacs.kms.DisableKeyRotation,
          awacs.kms.EnableKey, awacs.kms.DisableKey, awacs.kms.ScheduleKeyDeletion,
          awacs.kms.CancelKeyDeletion, awacs.kms.TagResource, awacs.kms.UntagResource,
          awacs.kms.ListResourceTags, awacs.kms.UpdateKeyDescription, awacs.kms.CreateAlias,
          awacs.kms.DeleteAlias, awacs.kms.UpdateAlias]
_USE = [awacs.kms.Encrypt, awacs.kms.Decrypt, awacs.kms.ReEncryptFrom, awacs.kms.ReEncryptTo,
        awacs.kms.GenerateDataKey, awacs.kms.GenerateDataKeyWithoutPlaintext, awacs.kms.DescribeKey,
        awacs.kms.CreateGrant]


def _key(c: Composition, title: str, alias: str, services: list[str], cloudwatch_publishes: bool) -> kms.Key:
    """A customer-managed key whose policy grants only what the named AWS services need."""
    statements = [
        Statement(Sid="KeyAdministrationByAccount", Effect=Allow, Principal=account_root(), Action=_ADMIN,
                  Resource=["*"]),
        Statement(Sid="UseThroughStackServices", Effect=Allow, Principal=account_root(), Action=_USE,
                  Resource=["*"],
                  Condition=PolicyCondition(StringEquals({
                      "kms:CallerAccount": Ref("AWS::AccountId"),
                      "kms:ViaService": [Sub(f"{service}.${{AWS::Region}}.amazonaws.com") for service in services],
                  }))),
    ]
    if cloudwatch_publishes:
        statements.append(Statement(
            Sid="CloudWatchAlarmsPublishToEncryptedTopic", Effect=Allow,
            Principal=Principal("Service", ["cloudwatch.amazonaws.com"]),
            Action=[awacs.kms.Decrypt, awacs.kms.GenerateDataKey], Resource=["*"],
            Condition=PolicyCondition(StringEquals({"aws:SourceAccount": Ref("AWS::AccountId")}))))
    config = c.config
    key = c.template.add_resource(kms.Key(
        title, Description=f"Encrypts the data of {config.stack_name}", EnableKeyRotation=True,
        KeyPolicy=PolicyDocument(Version=POLICY_VERSION, Statement=statements),
        PendingWindowInDays=30, Tags=tags(config), **retention(config)))
    c.template.add_resource(kms.Alias(f"{title}Alias", AliasName=alias, TargetKeyId=Ref(key)))
    return key


def build(c: Composition) -> None:
    """The primary stack's key: S3, DynamoDB and SNS use it, and CloudWatch alarms publish to its topic."""
    if not c.config.value(CUSTOMER_MANAGED_KEY):
        return
    c.key = _key(c, "DataKey", names.key_alias(c.config.stack_prefix, c.config.suffix),
                 ["s3", "dynamodb", "sns"], cloudwatch_publishes=True)
    add_output(c.template, "KeyArn", GetAtt(c.key, "Arn"), "ARN of the customer-managed KMS key")


def build_replica(c: Composition) -> None:
    """The replica stack's own key (a key lives in one region), used by S3 only."""
    if c.config.value(CUSTOMER_MANAGED_KEY):
        c.key = _key(c, "ReplicaKey", names.key_alias(c.config.stack_prefix, c.config.suffix, "replica"),
                     ["s3"], cloudwatch_publishes=False)


def price_key(ctx: PricingContext, name: str, props: Mapping[str, Any]) -> list[LineItem]:
    rtype = KEY
    if enabled(props.get("EnableKeyRotation")) and ROTATION_NOTE not in ctx.notes:
        ctx.notes.append(ROTATION_NOTE)
    return [ctx.fixed(name, rtype, "customer-managed key", "kms.key", 1),
            ctx.rate(name, rtype, "requests", "kms.requests")]


FAMILY = Family(
    name="keys",
    remove_commands={
        "AWS::KMS::Key": "aws kms schedule-key-deletion --key-id {id} --pending-window-in-days 7 --region {region}"},
    build=build,
    build_replica=build_replica,
    settings=(CUSTOMER_MANAGED_KEY,),
    pricers={KEY: price_key},
    free_types=frozenset({"AWS::KMS::Alias"}),
    holds_data=(KEY_HOLDS_DATA,),
)
