"""The CloudFormation templates, built with troposphere; IAM documents with awacs.

`build_template(config)` and `build_replica_template(config)` are pure: no printing, no files,
no boto3. One structure serves every suffix. Deploy-time settings (billing mode, capacities,
replication, lifecycle days, alert email, alarm thresholds) are Parameters whose Defaults carry
the suffix's config; Conditions over them choose the billing mode and replication. Synth-time
settings (customer_managed_key, retain_data, names, tags) change which resources and policies
exist, because security scanners do not evaluate Fn::If.
"""

from __future__ import annotations

import importlib
import sys
import types
from dataclasses import dataclass


class _ImportedOnFirstUse(types.ModuleType):
    """Stands in sys.modules for a module until an attribute of it is first used.

    troposphere imports cfn_flip (and with it PyYAML) at import time, only for to_yaml(); JSON
    synth never uses it, and it was over a third of synth's start-up.
    """

    def __getattr__(self, attr: str) -> object:
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        return getattr(importlib.import_module(self.__name__), attr)


def _import_lazily(name: str) -> None:
    if name not in sys.modules:
        sys.modules[name] = _ImportedOnFirstUse(name)


_import_lazily("cfn_flip")

import awacs.cloudwatch  # noqa: E402
import awacs.kms
import awacs.s3
import awacs.sns
import awacs.sts
from awacs.aws import (
    Allow,
    ArnEquals,
    Bool,
    Condition as PolicyCondition,
    Deny,
    Policy as PolicyDocument,
    Principal,
    Statement,
    StringEquals,
)
from troposphere import (
    And,
    Condition,
    Equals,
    Export,
    GetAtt,
    If,
    NoValue,
    Not,
    Output,
    Parameter,
    Ref,
    Sub,
    Tags,
    Template,
)
from troposphere import cloudwatch, dynamodb, iam, kms, s3, sns

from builder import names
from builder.environment import MAX_CAPACITY, MAX_LIFECYCLE_DAYS, EnvironmentConfig

POLICY_VERSION = "2012-10-17"
TRUE, FALSE = "true", "false"

# Conditions (names used in the template and by tests).
IS_PROVISIONED = "IsProvisioned"
REPLICATION_ON = "ReplicationOn"  # not "ReplicationEnabled": a condition named like a parameter sends LocalStack into endless recursion on updates
REPLICATION_TIME_CONTROL_ON = "ReplicationTimeControlEnabled"

# Alarm thresholds: each alarm fires at BASE * alarm_threshold_multiplier.
ALARM_BASES: dict[str, float] = {
    "ReadThrottleThreshold": 10,  # throttled read events in 5 minutes
    "WriteThrottleThreshold": 10,  # throttled write events in 5 minutes
    "SystemErrorThreshold": 5,  # DynamoDB 5xx errors in 5 minutes, summed over data operations
    "BucketSizeThreshold": 100 * 1024**3,  # bytes in the bucket's standard storage (100 GiB)
}
SYSTEM_ERROR_OPERATIONS = ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan",
                           "BatchGetItem", "BatchWriteItem")
ABORT_MULTIPART_DAYS = 7
STATEFUL_TYPES = ("AWS::S3::Bucket", "AWS::DynamoDB::Table")

# checkov checks skipped on purpose, as (id, one-line reason); each sits in its resource's Metadata
# and the README's Safety section lists them. With customer_managed_key on, no encryption check is skipped.
SKIP_ACCESS_LOGGING = ("CKV_AWS_18", "S3 access logging needs a second bucket per environment; a cost "
                                     "trade-off (CloudTrail data events can log access instead)")
SKIP_TOPIC_CMK = ("CKV_AWS_26", "customer_managed_key is off: CloudWatch cannot publish to a topic under "
                                "alias/aws/sns, and a customer-managed key costs monthly")
SKIP_TABLE_CMK = ("CKV_AWS_119", "customer_managed_key is off: the table is encrypted at rest with the "
                                 "AWS-owned key; a customer-managed key costs monthly")
CHECKOV_SKIPS = (SKIP_ACCESS_LOGGING, SKIP_TOPIC_CMK, SKIP_TABLE_CMK)


def _number(value: float) -> str:
    """A parameter value as text that is the same on every machine: 7.5, 80530636800."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def deploy_parameters(config: EnvironmentConfig) -> dict[str, str]:
    """Every Parameter of the primary template with this suffix's value (also its Default)."""
    values = {
        "BillingMode": config.dynamodb_billing_mode,
        # With PAY_PER_REQUEST the capacities are unused; 1 keeps them valid Numbers.
        "ReadCapacity": str(config.dynamodb_read_capacity or 1),
        "WriteCapacity": str(config.dynamodb_write_capacity or 1),
        "BucketLifecycleDays": str(config.bucket_lifecycle_days),
        "AlertEmail": config.alert_email,
        "ReplicationEnabled": TRUE if config.enable_cross_region_replication else FALSE,
        "ReplicationRegion": config.replication_region or "",
        "ReplicationTimeControl": TRUE if config.replication_time_control else FALSE,
    }
    for name, base in ALARM_BASES.items():
        values[name] = _number(base * config.alarm_threshold_multiplier)
    return values


def replica_parameters(config: EnvironmentConfig) -> dict[str, str]:
    return {"BucketLifecycleDays": str(config.bucket_lifecycle_days)}


@dataclass(frozen=True)
class _Params:
    billing_mode: Parameter
    read_capacity: Parameter
    write_capacity: Parameter
    lifecycle_days: Parameter
    alert_email: Parameter
    replication_enabled: Parameter
    replication_region: Parameter
    replication_time_control: Parameter
    thresholds: dict[str, Parameter]


def _lifecycle_days_parameter(default: str) -> Parameter:
    return Parameter("BucketLifecycleDays", Type="Number", Default=default, MinValue=1, MaxValue=MAX_LIFECYCLE_DAYS,
                     Description="Days until current objects (unless data is retained) and noncurrent versions expire")


def _add_parameters(t: Template, values: dict[str, str]) -> _Params:
    def flag(title: str, description: str) -> Parameter:
        return t.add_parameter(Parameter(title, Type="String", Default=values[title],
                                         AllowedValues=[TRUE, FALSE], Description=description))

    def capacity(title: str, what: str) -> Parameter:
        return t.add_parameter(Parameter(title, Type="Number", Default=values[title], MinValue=1,
                                         MaxValue=MAX_CAPACITY, Description=f"{what} capacity units (PROVISIONED only)"))

    thresholds = {
        name: t.add_parameter(Parameter(name, Type="Number", Default=values[name], MinValue=0,
                                        Description=f"Alarm threshold: base {_number(base)} x multiplier"))
        for name, base in ALARM_BASES.items()
    }
    return _Params(
        billing_mode=t.add_parameter(Parameter("BillingMode", Type="String", Default=values["BillingMode"],
                                               AllowedValues=["PAY_PER_REQUEST", "PROVISIONED"],
                                               Description="DynamoDB billing mode")),
        read_capacity=capacity("ReadCapacity", "Read"),
        write_capacity=capacity("WriteCapacity", "Write"),
        lifecycle_days=t.add_parameter(_lifecycle_days_parameter(values["BucketLifecycleDays"])),
        alert_email=t.add_parameter(Parameter("AlertEmail", Type="String", Default=values["AlertEmail"],
                                              AllowedPattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
                                              Description="Email address subscribed to the alert topic")),
        replication_enabled=flag("ReplicationEnabled", "Replicate the data bucket to ReplicationRegion"),
        replication_region=t.add_parameter(Parameter(
            "ReplicationRegion", Type="String", Default=values["ReplicationRegion"],
            AllowedPattern=r"^$|^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}$",
            Description="Region of the replica bucket (its stack is <stack>-replica)")),
        replication_time_control=flag("ReplicationTimeControl", "S3 Replication Time Control (premium, opt-in)"),
        thresholds=thresholds,
    )


def _tags(config: EnvironmentConfig) -> Tags:
    return Tags(config.all_tags)  # a fresh Tags each time: Tags.__add__ mutates its operand


def _retention(config: EnvironmentConfig) -> dict[str, str]:
    policy = "Retain" if config.retain_data else "Delete"
    return {"DeletionPolicy": policy, "UpdateReplacePolicy": policy}


def _checkov_skips(*skips: tuple[str, str]) -> dict[str, dict]:
    """Resource keyword arguments that carry checkov skips in its own Metadata syntax (none: no Metadata)."""
    if not skips:
        return {}
    return {"Metadata": {"checkov": {"skip": [{"id": check, "comment": reason} for check, reason in skips]}}}


def _account_root() -> Principal:
    return Principal("AWS", [Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")])


def _kms_key(t: Template, config: EnvironmentConfig, title: str, alias: str, services: list[str],
             cloudwatch_publishes: bool) -> kms.Key:
    """A customer-managed key whose policy grants only what the named AWS services need."""
    admin = [awacs.kms.DescribeKey, awacs.kms.GetKeyPolicy, awacs.kms.PutKeyPolicy,
             awacs.kms.GetKeyRotationStatus, awacs.kms.EnableKeyRotation, awacs.kms.DisableKeyRotation,
             awacs.kms.EnableKey, awacs.kms.DisableKey, awacs.kms.ScheduleKeyDeletion,
             awacs.kms.CancelKeyDeletion, awacs.kms.TagResource, awacs.kms.UntagResource,
             awacs.kms.ListResourceTags, awacs.kms.UpdateKeyDescription, awacs.kms.CreateAlias,
             awacs.kms.DeleteAlias, awacs.kms.UpdateAlias]
    use = [awacs.kms.Encrypt, awacs.kms.Decrypt, awacs.kms.ReEncryptFrom, awacs.kms.ReEncryptTo,
           awacs.kms.GenerateDataKey, awacs.kms.GenerateDataKeyWithoutPlaintext, awacs.kms.DescribeKey,
           awacs.kms.CreateGrant]
    statements = [
        Statement(Sid="KeyAdministrationByAccount", Effect=Allow, Principal=_account_root(), Action=admin,
                  Resource=["*"]),
        Statement(Sid="UseThroughStackServices", Effect=Allow, Principal=_account_root(), Action=use,
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
    key = t.add_resource(kms.Key(
        title, Description=f"Encrypts the data of {config.stack_name}", EnableKeyRotation=True,
        KeyPolicy=PolicyDocument(Version=POLICY_VERSION, Statement=statements),
        PendingWindowInDays=30, Tags=_tags(config), **_retention(config)))
    t.add_resource(kms.Alias(f"{title}Alias", AliasName=alias, TargetKeyId=Ref(key)))
    return key


def _bucket_encryption(key: kms.Key | None) -> s3.BucketEncryption:
    if key is None:
        default = s3.ServerSideEncryptionByDefault(SSEAlgorithm="AES256")
    else:
        default = s3.ServerSideEncryptionByDefault(SSEAlgorithm="aws:kms", KMSMasterKeyID=GetAtt(key, "Arn"))
    return s3.BucketEncryption(ServerSideEncryptionConfiguration=[
        s3.ServerSideEncryptionRule(ServerSideEncryptionByDefault=default, BucketKeyEnabled=key is not None)])


def _lifecycle(config: EnvironmentConfig, days: Ref) -> s3.LifecycleConfiguration:
    rules = [
        s3.LifecycleRule(Id="ExpireNoncurrentVersions", Status="Enabled", Prefix="",
                         NoncurrentVersionExpiration=s3.NoncurrentVersionExpiration(NoncurrentDays=days)),
        s3.LifecycleRule(Id="AbortIncompleteMultipartUploads", Status="Enabled", Prefix="",
                         AbortIncompleteMultipartUpload=s3.AbortIncompleteMultipartUpload(
                             DaysAfterInitiation=ABORT_MULTIPART_DAYS)),
    ]
    if not config.retain_data:
        rules.insert(0, s3.LifecycleRule(Id="ExpireCurrentObjects", Status="Enabled", Prefix="", ExpirationInDays=days))
    return s3.LifecycleConfiguration(Rules=rules)


def _private_bucket(t: Template, config: EnvironmentConfig, title: str, name: Sub, key: kms.Key | None,
                    days: Ref, **extra: object) -> s3.Bucket:
    """A versioned, encrypted, private bucket whose policy denies requests without TLS."""
    bucket = t.add_resource(s3.Bucket(
        title,
        BucketName=name,
        VersioningConfiguration=s3.VersioningConfiguration(Status="Enabled"),
        BucketEncryption=_bucket_encryption(key),
        PublicAccessBlockConfiguration=s3.PublicAccessBlockConfiguration(
            BlockPublicAcls=True, BlockPublicPolicy=True, IgnorePublicAcls=True, RestrictPublicBuckets=True),
        OwnershipControls=s3.OwnershipControls(Rules=[s3.OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")]),
        LifecycleConfiguration=_lifecycle(config, days),
        Tags=_tags(config),
        **extra,
        **_retention(config),
        **_checkov_skips(SKIP_ACCESS_LOGGING),
    ))
    arn = GetAtt(bucket, "Arn")
    t.add_resource(s3.BucketPolicy(
        f"{title}Policy",
        Bucket=Ref(bucket),
        PolicyDocument=PolicyDocument(Version=POLICY_VERSION, Statement=[Statement(
            Sid="DenyRequestsWithoutTls", Effect=Deny, Principal=Principal("*"), Action=[awacs.s3.Action("*")],
            Resource=[arn, Sub("${Arn}/*", Arn=arn)],
            Condition=PolicyCondition(Bool("aws:SecureTransport", FALSE)),
        )]),
    ))
    return bucket


def _replica_bucket_arn(config: EnvironmentConfig, region: Ref) -> Sub:
    name = names.replica_bucket_name(config.stack_prefix, config.suffix, "${Region}")
    return Sub(f"arn:${{AWS::Partition}}:s3:::{name}", Region=region)


def _replication(t: Template, config: EnvironmentConfig, p: _Params, key: kms.Key | None) -> If:
    """The replication configuration (under REPLICATION_ON) and its least-privilege role."""
    source_arn = Sub("arn:${AWS::Partition}:s3:::" + names.data_bucket_name(config.stack_prefix, config.suffix))
    replica_arn = _replica_bucket_arn(config, Ref(p.replication_region))
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
    replica_key_alias = None
    if key is not None:
        replica_key_alias = Sub("arn:${AWS::Partition}:kms:${Region}:${AWS::AccountId}:"
                                + names.key_alias(config.stack_prefix, config.suffix, "replica"),
                                Region=Ref(p.replication_region))
        statements += [
            Statement(Sid="DecryptSource", Effect=Allow, Action=[awacs.kms.Decrypt], Resource=[GetAtt(key, "Arn")],
                      Condition=PolicyCondition(StringEquals(
                          {"kms:ViaService": Sub("s3.${AWS::Region}.amazonaws.com")}))),
            Statement(Sid="EncryptReplica", Effect=Allow, Action=[awacs.kms.Encrypt],
                      Resource=[Sub("arn:${AWS::Partition}:kms:${Region}:${AWS::AccountId}:key/*",
                                    Region=Ref(p.replication_region))],
                      Condition=PolicyCondition(StringEquals({
                          "kms:ViaService": Sub("s3.${Region}.amazonaws.com", Region=Ref(p.replication_region)),
                          "kms:RequestAlias": names.key_alias(config.stack_prefix, config.suffix, "replica"),
                      }))),
        ]
    role = t.add_resource(iam.Role(
        "ReplicationRole",
        Condition=REPLICATION_ON,
        AssumeRolePolicyDocument=PolicyDocument(Version=POLICY_VERSION, Statement=[Statement(
            Effect=Allow, Principal=Principal("Service", ["s3.amazonaws.com"]), Action=[awacs.sts.AssumeRole],
            Condition=PolicyCondition(StringEquals({"aws:SourceAccount": Ref("AWS::AccountId")})))]),
        Policies=[iam.Policy(PolicyName="replicate-data-bucket",
                             PolicyDocument=PolicyDocument(Version=POLICY_VERSION, Statement=statements))],
        Tags=_tags(config),
    ))
    rtc_minutes = s3.ReplicationTimeValue(Minutes=15)
    destination = s3.ReplicationConfigurationRulesDestination(
        Bucket=replica_arn,
        ReplicationTime=If(REPLICATION_TIME_CONTROL_ON, s3.ReplicationTime(Status="Enabled", Time=rtc_minutes), NoValue),
        Metrics=If(REPLICATION_TIME_CONTROL_ON, s3.Metrics(Status="Enabled", EventThreshold=rtc_minutes), NoValue),
    )
    rule = s3.ReplicationConfigurationRules(
        Id="ReplicateEverything", Status="Enabled", Priority=1, Filter=s3.ReplicationRuleFilter(Prefix=""),
        DeleteMarkerReplication=s3.DeleteMarkerReplication(Status="Enabled"), Destination=destination)
    if replica_key_alias is not None:
        destination.EncryptionConfiguration = s3.EncryptionConfiguration(ReplicaKmsKeyID=replica_key_alias)
        rule.SourceSelectionCriteria = s3.SourceSelectionCriteria(
            SseKmsEncryptedObjects=s3.SseKmsEncryptedObjects(Status="Enabled"))
    return If(REPLICATION_ON, s3.ReplicationConfiguration(Role=GetAtt(role, "Arn"), Rules=[rule]), NoValue)


def _table(t: Template, config: EnvironmentConfig, p: _Params, key: kms.Key | None) -> dynamodb.Table:
    if key is None:
        sse = dynamodb.SSESpecification(SSEEnabled=True)
    else:
        sse = dynamodb.SSESpecification(SSEEnabled=True, SSEType="KMS", KMSMasterKeyId=Ref(key))
    return t.add_resource(dynamodb.Table(
        "DataTable",
        TableName=names.table_name(config.stack_prefix, config.suffix),
        AttributeDefinitions=[dynamodb.AttributeDefinition(AttributeName="pk", AttributeType="S"),
                              dynamodb.AttributeDefinition(AttributeName="sk", AttributeType="S")],
        KeySchema=[dynamodb.KeySchema(AttributeName="pk", KeyType="HASH"),
                   dynamodb.KeySchema(AttributeName="sk", KeyType="RANGE")],
        BillingMode=If(IS_PROVISIONED, "PROVISIONED", "PAY_PER_REQUEST"),
        ProvisionedThroughput=If(IS_PROVISIONED, dynamodb.ProvisionedThroughput(
            ReadCapacityUnits=Ref(p.read_capacity), WriteCapacityUnits=Ref(p.write_capacity)), NoValue),
        PointInTimeRecoverySpecification=dynamodb.PointInTimeRecoverySpecification(PointInTimeRecoveryEnabled=True),
        SSESpecification=sse,
        DeletionProtectionEnabled=config.retain_data,
        Tags=_tags(config),
        **_retention(config),
        **_checkov_skips(*([SKIP_TABLE_CMK] if key is None else [])),
    ))


def _topic(t: Template, config: EnvironmentConfig, p: _Params, key: kms.Key | None) -> sns.Topic:
    topic = t.add_resource(sns.Topic(
        "AlertTopic",
        TopicName=names.topic_name(config.stack_prefix, config.suffix),
        Tags=_tags(config),
        # Without a customer-managed key the topic is unencrypted: CloudWatch cannot publish to a
        # topic under the AWS-managed alias/aws/sns key, and a key of our own costs money monthly.
        **({"KmsMasterKeyId": Ref(key)} if key is not None else {}),
        **_checkov_skips(*([SKIP_TOPIC_CMK] if key is None else [])),
    ))
    t.add_resource(sns.SubscriptionResource(
        "AlertEmailSubscription", Protocol="email", Endpoint=Ref(p.alert_email), TopicArn=Ref(topic)))
    return topic


def _topic_policy(t: Template, topic: sns.Topic, alarms: list[cloudwatch.Alarm]) -> None:
    """Only this stack's alarms (exact ARNs: a name pattern would also match a longer suffix's), in this account."""
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


def _alarms(t: Template, config: EnvironmentConfig, p: _Params, table: dynamodb.Table, bucket: s3.Bucket,
            topic: sns.Topic) -> list[cloudwatch.Alarm]:
    alarms: list[cloudwatch.Alarm] = []

    def alarm(title: str, what: str, description: str, threshold: str, **metric: object) -> None:
        alarms.append(t.add_resource(cloudwatch.Alarm(
            title,
            AlarmName=names.alarm_name(config.stack_prefix, config.suffix, what),
            AlarmDescription=description,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            EvaluationPeriods=1,
            Threshold=Ref(p.thresholds[threshold]),
            TreatMissingData="notBreaching",
            AlarmActions=[Ref(topic)],
            OKActions=[Ref(topic)],
            Tags=_tags(config),
            **metric,
        )))

    table_dimension = [cloudwatch.MetricDimension(Name="TableName", Value=Ref(table))]
    for direction in ("Read", "Write"):
        alarm(f"Table{direction}ThrottleAlarm", f"table-{direction.lower()}-throttles",
              f"{direction} requests to the table are throttled", f"{direction}ThrottleThreshold",
              Namespace="AWS/DynamoDB", MetricName=f"{direction}ThrottleEvents", Dimensions=table_dimension,
              Statistic="Sum", Period=300)
    queries = [
        cloudwatch.MetricDataQuery(
            Id=f"m{index}", ReturnData=False,
            MetricStat=cloudwatch.MetricStat(Stat="Sum", Period=300, Metric=cloudwatch.Metric(
                Namespace="AWS/DynamoDB", MetricName="SystemErrors",
                Dimensions=[*table_dimension, cloudwatch.MetricDimension(Name="Operation", Value=operation)])))
        for index, operation in enumerate(SYSTEM_ERROR_OPERATIONS)
    ]
    ids = ", ".join(q.Id for q in queries)
    queries.append(cloudwatch.MetricDataQuery(Id="errors", Expression=f"SUM([{ids}])", Label="SystemErrors",
                                              ReturnData=True))
    alarm("TableSystemErrorsAlarm", "table-system-errors", "DynamoDB returns server errors for the table",
          "SystemErrorThreshold", Metrics=queries)
    alarm("BucketSizeAlarm", "bucket-size", "The data bucket holds more than expected", "BucketSizeThreshold",
          Namespace="AWS/S3", MetricName="BucketSizeBytes", Statistic="Average", Period=86400,
          Dimensions=[cloudwatch.MetricDimension(Name="BucketName", Value=Ref(bucket)),
                      cloudwatch.MetricDimension(Name="StorageType", Value="StandardStorage")])
    return alarms


def _output(t: Template, title: str, value: object, description: str, condition: str | None = None) -> None:
    extra = {"Condition": condition} if condition else {}
    t.add_output(Output(title, Description=description, Value=value,
                        Export=Export(Sub(f"${{AWS::StackName}}-{title}")), **extra))


def build_template(config: EnvironmentConfig) -> Template:
    """The primary stack of one environment."""
    t = Template(Description=f"builder: data bucket, table, alerts and alarms of environment {config.suffix}")
    t.set_version("2010-09-09")
    p = _add_parameters(t, deploy_parameters(config))
    t.add_condition(IS_PROVISIONED, Equals(Ref(p.billing_mode), "PROVISIONED"))
    t.add_condition(REPLICATION_ON, Equals(Ref(p.replication_enabled), TRUE))
    t.add_condition(REPLICATION_TIME_CONTROL_ON, And(Condition(REPLICATION_ON),
                                                     Equals(Ref(p.replication_time_control), TRUE)))
    t.add_rule("ReplicationNeedsRegion", {
        "RuleCondition": Equals(Ref(p.replication_enabled), TRUE),
        "Assertions": [{"Assert": Not(Equals(Ref(p.replication_region), "")),
                        "AssertDescription": "ReplicationEnabled=true needs ReplicationRegion"}],
    })
    t.add_rule("TimeControlNeedsReplication", {
        "RuleCondition": Equals(Ref(p.replication_time_control), TRUE),
        "Assertions": [{"Assert": Equals(Ref(p.replication_enabled), TRUE),
                        "AssertDescription": "ReplicationTimeControl=true needs ReplicationEnabled=true"}],
    })
    key = None
    if config.customer_managed_key:
        key = _kms_key(t, config, "DataKey", names.key_alias(config.stack_prefix, config.suffix),
                       ["s3", "dynamodb", "sns"], cloudwatch_publishes=True)
    bucket = _private_bucket(
        t, config, "DataBucket", Sub(names.data_bucket_name(config.stack_prefix, config.suffix)), key,
        Ref(p.lifecycle_days), ReplicationConfiguration=_replication(t, config, p, key))
    table = _table(t, config, p, key)
    topic = _topic(t, config, p, key)
    _topic_policy(t, topic, _alarms(t, config, p, table, bucket, topic))
    _output(t, "BucketName", Ref(bucket), "Name of the data bucket")
    _output(t, "BucketArn", GetAtt(bucket, "Arn"), "ARN of the data bucket")
    _output(t, "TableName", Ref(table), "Name of the DynamoDB table")
    _output(t, "TableArn", GetAtt(table, "Arn"), "ARN of the DynamoDB table")
    _output(t, "AlertTopicArn", Ref(topic), "ARN of the alert topic")
    _output(t, "ReplicaBucketArn", _replica_bucket_arn(config, Ref(p.replication_region)),
            "ARN of the replica bucket", condition=REPLICATION_ON)
    if key is not None:
        _output(t, "KeyArn", GetAtt(key, "Arn"), "ARN of the customer-managed KMS key")
    return t


def build_replica_template(config: EnvironmentConfig) -> Template:
    """The replica stack: the destination bucket in replication_region (and its own key)."""
    t = Template(Description=f"builder: replica bucket of environment {config.suffix}")
    t.set_version("2010-09-09")
    days = t.add_parameter(_lifecycle_days_parameter(str(config.bucket_lifecycle_days)))
    key = None
    if config.customer_managed_key:
        key = _kms_key(t, config, "ReplicaKey", names.key_alias(config.stack_prefix, config.suffix, "replica"),
                       ["s3"], cloudwatch_publishes=False)
    bucket = _private_bucket(
        t, config, "ReplicaBucket",
        Sub(names.replica_bucket_name(config.stack_prefix, config.suffix, "${AWS::Region}")), key, Ref(days))
    _output(t, "ReplicaBucketName", Ref(bucket), "Name of the replica bucket")
    _output(t, "ReplicaBucketArn", GetAtt(bucket, "Arn"), "ARN of the replica bucket")
    return t
