"""Cross-region replication of the data bucket: its configuration and least-privilege role under the
ReplicationOn condition. The replica stack's bucket is the storage family's, its key the keys family's."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import awacs.kms
import awacs.s3
import awacs.sts
from awacs.aws import Allow, Principal, Statement, StringEquals
from awacs.aws import Condition as PolicyCondition
from awacs.aws import Policy as PolicyDocument
from troposphere import And, Condition, Equals, GetAtt, If, Join, Not, NoValue, Ref, Sub, iam, s3

from builder import names
from builder.environment import EnvironmentConfig, Resolved
from builder.errors import Problem
from builder.families import Composition, Family, ParameterSpec, Safeguard
from builder.families.shared import FALSE, POLICY_VERSION, TRUE, add_output, tags
from builder.families.storage import BUCKET, active_rules
from builder.settings import Setting, aws_region
from builder.template_values import UNKNOWN

# Condition names (used in the template and by tests).
# Not "ReplicationEnabled": a condition named like a parameter sends LocalStack into endless recursion on updates.
REPLICATION_ON = "ReplicationOn"
REPLICATION_TIME_CONTROL_ON = "ReplicationTimeControlEnabled"


REPLICATION_REGION: Setting[str | None] = Setting(
    "replication_region", str, None, True, "region of the replica bucket; must differ from the stack's", "—",
    pattern=aws_region("eu-west-1"))
ENABLE_CROSS_REGION_REPLICATION: Setting[bool] = Setting(
    "enable_cross_region_replication", bool, False, True, "replicate the bucket to `replication_region`",
    "replica storage, per-GB replication and transfer", requires=REPLICATION_REGION.name)
REPLICATION_TIME_CONTROL: Setting[bool] = Setting(
    "replication_time_control", bool, False, True, "S3 Replication Time Control; needs replication",
    "premium per-GB charge", requires=ENABLE_CROSS_REGION_REPLICATION.name)


def replica_region(config: EnvironmentConfig) -> str | None:
    """The region of the replica stack, or None when replication is off."""
    return config.value(REPLICATION_REGION) if config.value(ENABLE_CROSS_REGION_REPLICATION) else None


def _check(resolved: Resolved) -> list[Problem]:
    """The replica lives in another region than the stack: S3 cross-region replication needs one."""
    region = resolved.config.region
    if replica_region(resolved.config) != region:
        return []
    return [resolved.problem(REPLICATION_REGION, f"must differ from the stack's region {region!r}; "
                                                 f"S3 cross-region replication needs another region")]


def _bucket_regions(config: EnvironmentConfig) -> tuple[str, ...]:
    region = replica_region(config)
    return (region,) if region else ()


def _flag(title: str, setting: Setting[bool], description: str) -> ParameterSpec:
    return ParameterSpec(title, setting.name, lambda config: TRUE if config.value(setting) else FALSE,
                         {"Type": "String", "AllowedValues": [TRUE, FALSE], "Description": description})


ENABLED = _flag("ReplicationEnabled", ENABLE_CROSS_REGION_REPLICATION, "Replicate the data bucket to ReplicationRegion")
REGION = ParameterSpec(
    "ReplicationRegion", REPLICATION_REGION.name, lambda config: config.value(REPLICATION_REGION) or "",
    {"Type": "String", "AllowedPattern": r"^$|^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}$",
     "Description": "Region of the replica bucket (its stack is <stack>-replica)"})
TIME_CONTROL = _flag("ReplicationTimeControl", REPLICATION_TIME_CONTROL,
                     "S3 Replication Time Control (premium, opt-in)")


def _replica_bucket_arn(config: EnvironmentConfig, region: Ref) -> Sub:
    name = names.replica_bucket_name(config.stack_prefix, config.suffix, "${Region}")
    return Sub(f"arn:${{AWS::Partition}}:s3:::{name}", Region=region)


def _role(c: Composition, replica_arn: Sub, region: Ref) -> iam.Role:
    """The role S3 assumes to replicate: read the source, write the replica, and the keys if any."""
    config, key = c.config, c.key
    source_arn = Sub("arn:${AWS::Partition}:s3:::" + names.data_bucket_name(config.stack_prefix, config.suffix))
    statements = [
        Statement(Sid="ReadSourceConfiguration", Effect=Allow,
                  Action=[awacs.s3.GetReplicationConfiguration, awacs.s3.ListBucket], Resource=[source_arn]),
        Statement(Sid="ReadSourceObjects", Effect=Allow,
                  Action=[awacs.s3.GetObjectVersionForReplication, awacs.s3.GetObjectVersionAcl,
                          awacs.s3.GetObjectVersionTagging],
                  Resource=[Sub("${Arn}/*", Arn=source_arn)]),
        Statement(Sid="WriteReplica", Effect=Allow,
                  Action=[awacs.s3.ReplicateObject, awacs.s3.ReplicateDelete, awacs.s3.ReplicateTags],
                  Resource=[Sub("${Arn}/*", Arn=replica_arn)]),
    ]
    if key is not None:
        statements += [
            Statement(Sid="DecryptSource", Effect=Allow, Action=[awacs.kms.Decrypt], Resource=[GetAtt(key, "Arn")],
                      Condition=PolicyCondition(StringEquals(
                          {"kms:ViaService": Sub("s3.${AWS::Region}.amazonaws.com")}))),
            Statement(Sid="EncryptReplica", Effect=Allow, Action=[awacs.kms.Encrypt],
                      Resource=[Sub("arn:${AWS::Partition}:kms:${Region}:${AWS::AccountId}:key/*", Region=region)],
                      Condition=PolicyCondition(StringEquals({
                          "kms:ViaService": Sub("s3.${Region}.amazonaws.com", Region=region),
                          "kms:RequestAlias": names.key_alias(config.stack_prefix, config.suffix, "replica"),
                      }))),
        ]
    return c.template.add_resource(iam.Role(
        "ReplicationRole",
        Condition=REPLICATION_ON,
        AssumeRolePolicyDocument=PolicyDocument(Version=POLICY_VERSION, Statement=[Statement(
            Effect=Allow, Principal=Principal("Service", ["s3.amazonaws.com"]), Action=[awacs.sts.AssumeRole],
            Condition=PolicyCondition(StringEquals({"aws:SourceAccount": Ref("AWS::AccountId")})))]),
        Policies=[iam.Policy(PolicyName="replicate-data-bucket",
                             PolicyDocument=PolicyDocument(Version=POLICY_VERSION, Statement=statements))],
        Tags=tags(config),
    ))


def _role_arn(role: iam.Role) -> Join:
    """The role's ARN from its name (Ref), not GetAtt(role, "Arn"): the same value on AWS (the role has the
    default path "/"), and LocalStack 2026.3 can then switch replication off. Its change-set engine resolves
    a GetAtt inside Fn::If for the template before AND after the change, so with ReplicationOn turned false
    it fails "Unresolved resource dependencies [ReplicationRole]"; a Ref to a removed resource it resolves
    to nothing. The Ref keeps the dependency (the role exists before the bucket names it). Joined by ":",
    the ARN's own separator: an Fn::Sub fails there the same way, and cfn-lint (I1022) prefers Sub to a
    Join on ""."""
    return Join(":", ["arn", Ref("AWS::Partition"), "iam", "", Ref("AWS::AccountId"), Join("/", ["role", Ref(role)])])


def build(c: Composition) -> None:
    """Conditions and rules over the replication Parameters; the data bucket's replication configuration."""
    t, config = c.template, c.config
    enabled, region, time_control = (c.parameters[spec.title] for spec in (ENABLED, REGION, TIME_CONTROL))
    t.add_condition(REPLICATION_ON, Equals(Ref(enabled), TRUE))
    t.add_condition(REPLICATION_TIME_CONTROL_ON, And(Condition(REPLICATION_ON), Equals(Ref(time_control), TRUE)))
    t.add_rule("ReplicationNeedsRegion", {
        "RuleCondition": Equals(Ref(enabled), TRUE),
        "Assertions": [{"Assert": Not(Equals(Ref(region), "")),
                        "AssertDescription": "ReplicationEnabled=true needs ReplicationRegion"}],
    })
    t.add_rule("TimeControlNeedsReplication", {
        "RuleCondition": Equals(Ref(time_control), TRUE),
        "Assertions": [{"Assert": Equals(Ref(enabled), TRUE),
                        "AssertDescription": "ReplicationTimeControl=true needs ReplicationEnabled=true"}],
    })
    replica_arn = _replica_bucket_arn(config, Ref(region))
    role = _role(c, replica_arn, Ref(region))
    rtc_minutes = s3.ReplicationTimeValue(Minutes=15)
    destination = s3.ReplicationConfigurationRulesDestination(
        Bucket=replica_arn,
        ReplicationTime=If(REPLICATION_TIME_CONTROL_ON, s3.ReplicationTime(Status="Enabled", Time=rtc_minutes),
                           NoValue),
        Metrics=If(REPLICATION_TIME_CONTROL_ON, s3.Metrics(Status="Enabled", EventThreshold=rtc_minutes), NoValue),
    )
    rule = s3.ReplicationConfigurationRules(
        Id="ReplicateEverything", Status="Enabled", Priority=1, Filter=s3.ReplicationRuleFilter(Prefix=""),
        DeleteMarkerReplication=s3.DeleteMarkerReplication(Status="Enabled"), Destination=destination)
    if c.key is not None:
        destination.EncryptionConfiguration = s3.EncryptionConfiguration(ReplicaKmsKeyID=Sub(
            "arn:${AWS::Partition}:kms:${Region}:${AWS::AccountId}:"
            + names.key_alias(config.stack_prefix, config.suffix, "replica"), Region=Ref(region)))
        rule.SourceSelectionCriteria = s3.SourceSelectionCriteria(
            SseKmsEncryptedObjects=s3.SseKmsEncryptedObjects(Status="Enabled"))
    assert c.data_bucket is not None, "the storage family runs before replication"
    c.data_bucket.ReplicationConfiguration = If(
        REPLICATION_ON, s3.ReplicationConfiguration(Role=_role_arn(role), Rules=[rule]), NoValue)
    add_output(t, "ReplicaBucketArn", replica_arn, "ARN of the replica bucket", condition=REPLICATION_ON)


def destinations(props: Mapping[str, Any]) -> object:
    """The buckets the bucket replicates to (their names; as written when not known)."""
    rules = active_rules(props, "ReplicationConfiguration")
    if rules is None:
        return UNKNOWN
    found = [(rule.get("Destination") or {}).get("Bucket") for rule in rules]
    return frozenset(str(b).rsplit(":", 1)[-1] if isinstance(b, str) else json.dumps(b, sort_keys=True)
                     for b in found)


REPLICATION_SAFEGUARD = Safeguard(
    BUCKET, "replication", "members", destinations,
    "that replica stops receiving copies; deploy leaves the replica stack as it is, with the copies made so far "
    "(and its cost), until it is destroyed")

FAMILY = Family(
    name="replication",
    build=build,
    settings=(ENABLE_CROSS_REGION_REPLICATION, REPLICATION_REGION, REPLICATION_TIME_CONTROL),
    check=_check,
    bucket_regions=_bucket_regions,
    parameters=(ENABLED, REGION, TIME_CONTROL),
    free_types=frozenset({"AWS::IAM::Role", "AWS::IAM::Policy"}),
    safeguards=(REPLICATION_SAFEGUARD,),  # of the data bucket, which storage declares as holding data
)
