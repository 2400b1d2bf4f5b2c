"""The buckets: the data bucket (versioned, encrypted, private, TLS only; its lifecycle, its policy and its
size alarm) and, in the replica stack, its copy. What the AWS side must know about buckets: how a retained
one is found, that one must be emptied before it is deleted, and drift's false report of SSE-S3."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import awacs.s3
from awacs.aws import Bool, Deny, Principal, Statement
from awacs.aws import Condition as PolicyCondition
from awacs.aws import Policy as PolicyDocument
from troposphere import GetAtt, Ref, Sub, Template, cloudwatch, kms, s3

from builder import names
from builder.drift_noise import REMOVED, Json, NoiseRule, PropertyDifference, parsed, segments, value_at
from builder.environment import EnvironmentConfig
from builder.errors import OperationError
from builder.families import (
    AlarmSpec,
    CheckovSkip,
    Composition,
    DataHolder,
    Family,
    Lookup,
    ParameterSpec,
    PreDelete,
    ResourceKind,
    Safeguard,
)
from builder.families.shared import (
    FALSE,
    POLICY_VERSION,
    add_output,
    checkov_skips,
    retention,
    tags,
    threshold_parameters,
)
from builder.pricing import LineItem, PricingContext
from builder.settings import Range, Setting
from builder.template_values import UNKNOWN, as_number, is_intrinsic

BUCKET = "AWS::S3::Bucket"
ABORT_MULTIPART_DAYS = 7
ALARM_BASES: dict[str, float] = {
    "BucketSizeThreshold": 100 * 1024**3,  # bytes in the bucket's standard storage (100 GiB)
}
SKIP_ACCESS_LOGGING = CheckovSkip("CKV_AWS_18", "S3 access logging needs a second bucket per environment; a "
                                                "cost trade-off (CloudTrail data events can log access instead)")
MAX_LIFECYCLE_DAYS = 36_500
BUCKET_LIFECYCLE_DAYS: Setting[int] = Setting(
    "bucket_lifecycle_days", int, 30, True,
    "current objects (unless `retain_data`) and noncurrent versions expire after this many days",
    "fewer days, less storage", range=Range(1, MAX_LIFECYCLE_DAYS))
LIFECYCLE_DAYS = ParameterSpec(
    "BucketLifecycleDays", BUCKET_LIFECYCLE_DAYS.name, lambda config: str(config.value(BUCKET_LIFECYCLE_DAYS)),
    {"Type": "Number", "MinValue": 1, "MaxValue": MAX_LIFECYCLE_DAYS,
     "Description": "Days until current objects (unless data is retained) and noncurrent versions expire"},
    in_replica=True)


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


def private_bucket(t: Template, config: EnvironmentConfig, title: str, name: Sub, key: kms.Key | None,
                   days: Ref) -> s3.Bucket:
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
        Tags=tags(config),
        **retention(config),
        **checkov_skips(SKIP_ACCESS_LOGGING),
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


def build(c: Composition) -> None:
    config = c.config
    bucket = private_bucket(c.template, config, "DataBucket",
                            Sub(names.data_bucket_name(config.stack_prefix, config.suffix)), c.key,
                            Ref(c.parameters[LIFECYCLE_DAYS.title]))
    c.data_bucket = bucket
    # not a rollback trigger: S3 reports the size once a day, and a full bucket is a matter of use, not of a deploy
    c.alarms.append(AlarmSpec(
        "BucketSizeAlarm", "bucket-size", "The data bucket holds more than expected", "BucketSizeThreshold",
        {"Namespace": "AWS/S3", "MetricName": "BucketSizeBytes", "Statistic": "Average", "Period": 86400,
         "Dimensions": [cloudwatch.MetricDimension(Name="BucketName", Value=Ref(bucket)),
                        cloudwatch.MetricDimension(Name="StorageType", Value="StandardStorage")]}))
    add_output(c.template, "BucketName", Ref(bucket), "Name of the data bucket")
    add_output(c.template, "BucketArn", GetAtt(bucket, "Arn"), "ARN of the data bucket")


def build_replica(c: Composition) -> None:
    """The replica bucket, in replication_region (the replica stack's region): replication's destination."""
    config = c.config
    bucket = private_bucket(
        c.template, config, "ReplicaBucket",
        Sub(names.replica_bucket_name(config.stack_prefix, config.suffix, "${AWS::Region}")), c.key,
        Ref(c.parameters[LIFECYCLE_DAYS.title]))
    add_output(c.template, "ReplicaBucketName", Ref(bucket), "Name of the replica bucket")
    add_output(c.template, "ReplicaBucketArn", GetAtt(bucket, "Arn"), "ARN of the replica bucket")


def price_bucket(ctx: PricingContext, name: str, props: Mapping[str, Any]) -> list[LineItem]:
    rtype = BUCKET
    versioned = (props.get("VersioningConfiguration") or {}).get("Status") == "Enabled"
    items = [ctx.fixed(name, rtype, "bucket", "s3.bucket", 1),
             ctx.rate(name, rtype, "storage" + (" (noncurrent versions count)" if versioned else ""),
                      "s3.standard_storage"),
             ctx.rate(name, rtype, "PUT/COPY/POST/LIST requests", "s3.put_requests"),
             ctx.rate(name, rtype, "GET requests", "s3.get_requests")]
    rules = [r for r in (props.get("ReplicationConfiguration") or {}).get("Rules", [])
             if isinstance(r, Mapping) and r.get("Status") == "Enabled"]
    if rules:
        items.append(ctx.fixed(name, rtype, "replication", "s3.replication_rule", 1))
        items.append(ctx.rate(name, rtype, "replication transfer", "s3.inter_region_transfer"))
        destinations = [r.get("Destination") or {} for r in rules]
        if any((d.get("ReplicationTime") or {}).get("Status") == "Enabled" for d in destinations):
            items.append(ctx.rate(name, rtype, "Replication Time Control", "s3.rtc"))
        if any((d.get("Metrics") or {}).get("Status") == "Enabled" for d in destinations):
            items.append(ctx.rate(name, rtype, "replication metrics (CloudWatch, while reported)",
                                  "cloudwatch.custom_metric"))
    return items


BATCH = 1000  # DeleteObjects takes at most 1000 keys


def empty_bucket(s3: Any, bucket: str) -> int:
    """Delete every object version and delete marker, 1000 per request; the number deleted."""
    deleted = 0
    while True:
        page = s3.list_object_versions(Bucket=bucket, MaxKeys=BATCH)
        keys = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]]
        if not keys:
            return deleted
        for start in range(0, len(keys), BATCH):
            batch = keys[start:start + BATCH]
            answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
            errors = answer.get("Errors", [])
            if errors:
                first = errors[0]
                raise OperationError(f"s3://{bucket}", f"could not delete {len(errors)} object version(s), e.g. "
                                                       f"{first.get('Key')}: {first.get('Code')} "
                                                       f"{first.get('Message')}")
            deleted += len(batch)


def _empty(s3: Any, bucket: str) -> str:
    return f"emptied bucket {bucket}: {empty_bucket(s3, bucket)} object version(s) and delete marker(s) deleted"


NO_SUCH_BUCKET = frozenset({"404", "NoSuchBucket", "NotFound"})
# HeadBucket of a bucket name another account holds answers 403: bucket names are global
BUCKET_LOOKUP = Lookup("s3", "head_bucket", "Bucket", missing=NO_SUCH_BUCKET,
                       foreign=frozenset({"403", "AccessDenied"}))
BUCKET_KIND = ResourceKind(
    BUCKET, "bucket", name_property="BucketName", lookup=BUCKET_LOOKUP,
    identifier="BucketName",  # ResourceIdentifier key (the type's primaryIdentifier)
    # CloudFormation deletes only an empty bucket, and a versioned one keeps every version
    before_delete=PreDelete("s3", _empty, gone=frozenset({"NoSuchBucket"}), left_behind=BUCKET_LOOKUP))

_SSE_S3_ONLY = [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]


def _default_encryption_missing(_type: str, diff: PropertyDifference, expected: Json, _actual: Json) -> bool:
    """The bucket's SSE-S3 (AES256) encryption, which S3 applies to every bucket anyway, reported as absent."""
    if segments(diff.path)[:1] != ["BucketEncryption"]:
        return False
    declared = value_at(expected, ["BucketEncryption", "ServerSideEncryptionConfiguration"])
    if declared is None:
        declared = value_at(parsed(diff.expected), ["ServerSideEncryptionConfiguration"])
    return declared == _SSE_S3_ONLY and (diff.kind == REMOVED or diff.actual in ("", "null"))


# S3 applies SSE-S3 (AES256) to every bucket (Amazon S3 User Guide, "Using server-side encryption with
# Amazon S3 managed keys (SSE-S3)": "the base level of encryption for every bucket", since 2023-01-05),
# yet drift detection reports a declared AES256 BucketEncryption as "null":
# aws-cloudformation/cloudformation-coverage-roadmap#2554.
DEFAULT_ENCRYPTION_NOISE = NoiseRule(
    "S3 encrypts every bucket with SSE-S3 (AES256); drift detection reports that default as missing "
    "(cloudformation-coverage-roadmap#2554)", _default_encryption_missing, frozenset({BUCKET}))


BUCKET_HOLDS_DATA = DataHolder(BUCKET, "its objects and every version of them", replaced_by=("BucketName",))


def active_rules(props: Mapping[str, Any], configuration: str) -> list[Mapping[str, Any]] | None:
    """The rules not disabled of a bucket configuration (LifecycleConfiguration, ReplicationConfiguration);
    None when the template does not say (a value builder cannot evaluate)."""
    config = props.get(configuration) or {}
    rules = None if is_intrinsic(config) else config.get("Rules") or []
    if not isinstance(rules, list) or any(not isinstance(rule, Mapping) for rule in rules):
        return None
    return [rule for rule in rules if rule.get("Status") != "Disabled"]


def _shortest(props: Mapping[str, Any], days: Callable[[Mapping[str, Any]], Any]) -> object:
    """The fewest days any active lifecycle rule gives by `days`; None when no rule sets one (kept for
    ever); UNKNOWN when the template does not say."""
    rules = active_rules(props, "LifecycleConfiguration")
    if rules is None:
        return UNKNOWN
    numbers = [as_number(value) for value in (days(rule) for rule in rules) if value is not None]
    if any(number is None for number in numbers):
        return UNKNOWN
    return min((n for n in numbers if n is not None), default=None)


def current_expiry(props: Mapping[str, Any]) -> object:
    return _shortest(props, lambda rule: rule.get("ExpirationInDays"))


def noncurrent_expiry(props: Mapping[str, Any]) -> object:
    return _shortest(props, lambda rule: (rule.get("NoncurrentVersionExpiration") or {}).get(
        "NoncurrentDays", rule.get("NoncurrentVersionExpirationInDays")))


def versioned(props: Mapping[str, Any]) -> object:
    versioning = props.get("VersioningConfiguration") or {}
    status = UNKNOWN if is_intrinsic(versioning) else versioning.get("Status", "Suspended")
    return status == "Enabled" if isinstance(status, str) else UNKNOWN


BUCKET_SAFEGUARDS = (
    Safeguard(BUCKET, "versioning", "switch", versioned,
              "an overwritten or deleted object can no longer be recovered from its earlier versions"),
    Safeguard(BUCKET, "current objects expire", "limit", current_expiry,
              "objects are expired {new} (a delete marker hides them), then deleted for good as noncurrent "
              "versions"),
    Safeguard(BUCKET, "noncurrent versions expire", "limit", noncurrent_expiry,
              "overwritten and deleted objects (noncurrent versions) are deleted for good {new}"),
)

FAMILY = Family(
    name="storage",
    remove_commands={"AWS::S3::Bucket": "aws s3 rb s3://{id} --force --region {region}"},
    build=build,
    build_replica=build_replica,
    settings=(BUCKET_LIFECYCLE_DAYS,),
    parameters=(LIFECYCLE_DAYS, *threshold_parameters(ALARM_BASES)),
    pricers={BUCKET: price_bucket},
    free_types=frozenset({"AWS::S3::BucketPolicy"}),
    checkov_skips=(SKIP_ACCESS_LOGGING,),
    kinds=(BUCKET_KIND,),
    drift_noise=(DEFAULT_ENCRYPTION_NOISE,),
    holds_data=(BUCKET_HOLDS_DATA,),  # the data bucket and, in the replica stack, its copy
    safeguards=BUCKET_SAFEGUARDS,
)
