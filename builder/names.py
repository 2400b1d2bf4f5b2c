"""Every physical name a stack uses, derived from stack_prefix and suffix in one place.

Names carry `${AWS::AccountId}` (and sometimes `${AWS::Region}`) for Fn::Sub, so many suffixes
coexist in one account and S3 names stay globally unique. Validation measures the same strings
with a 12-digit account id in place, so a suffix that fits here fits in AWS.
"""

from __future__ import annotations

import re

ACCOUNT_ID_LENGTH = 12
S3_BUCKET_NAME_MAX = 63
S3_BUCKET_NAME_MIN = 3

_S3_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*[a-z0-9]\Z")
_S3_FORBIDDEN_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_S3_FORBIDDEN_SUFFIXES = ("-s3alias", "--ol-s3", "--x-s3", "--table-s3")


def stack_name(prefix: str, suffix: str) -> str:
    return f"{prefix}-{suffix}"


def replica_stack_name(prefix: str, suffix: str) -> str:
    return f"{stack_name(prefix, suffix)}-replica"


def data_bucket_name(prefix: str, suffix: str, region: str = "${AWS::Region}") -> str:
    return f"{prefix}-{suffix}-data-${{AWS::AccountId}}-{region}"


def replica_bucket_name(prefix: str, suffix: str, region: str) -> str:
    return f"{prefix}-{suffix}-replica-${{AWS::AccountId}}-{region}"


def table_name(prefix: str, suffix: str) -> str:
    return f"{prefix}-{suffix}-data"


def topic_name(prefix: str, suffix: str) -> str:
    return f"{prefix}-{suffix}-alerts"


def alarm_name(prefix: str, suffix: str, what: str) -> str:
    return f"{prefix}-{suffix}-{what}"


def key_alias(prefix: str, suffix: str, role: str = "data") -> str:
    return f"alias/{prefix}-{suffix}-{role}"


# An IAM role ARN: arn:<partition>:iam::<account>:role/<optional path/><name> (IAM User Guide, "IAM
# identifiers": role names are 1-64 of letters, digits and +=,.@_-; a path is segments ending in /)
_ROLE_ARN = re.compile(r"^arn:(?P<partition>[a-z-]+):iam::\d{12}:role/(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64}\Z",
                       re.ASCII)


def partition(region: str) -> str:
    """The AWS partition a region belongs to: aws-cn (cn-*), aws-us-gov (us-gov-*), else aws."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def role_arn_problem(arn: str, region: str) -> str | None:
    """What is wrong with `arn` as the ARN of an IAM role CloudFormation in `region` can assume, or None."""
    expected = partition(region)
    example = f"arn:{expected}:iam::123456789012:role/cloudformation-deploy"
    found = _ROLE_ARN.match(arn)
    if not found:
        return f"{arn!r} is not an IAM role ARN such as {example}"
    if found["partition"] != expected:
        return (f"{arn!r} is in partition {found['partition']!r}, but region {region} is in {expected!r}; "
                f"use a role such as {example}")
    return None


def with_account(name: str) -> str:
    """The name as AWS will see it, with a 12-digit account id substituted (for length checks)."""
    return name.replace("${AWS::AccountId}", "0" * ACCOUNT_ID_LENGTH)


def s3_bucket_name_problem(name: str) -> str | None:
    """What is wrong with a (substituted) S3 bucket name, or None when AWS accepts it."""
    if not S3_BUCKET_NAME_MIN <= len(name) <= S3_BUCKET_NAME_MAX:
        return f"is {len(name)} characters; S3 allows {S3_BUCKET_NAME_MIN} to {S3_BUCKET_NAME_MAX}"
    if not _S3_NAME.match(name):
        return "may hold only lowercase letters, digits and hyphens, starting and ending with a letter or digit"
    for bad in _S3_FORBIDDEN_PREFIXES:
        if name.startswith(bad):
            return f"may not start with {bad!r}"
    for bad in _S3_FORBIDDEN_SUFFIXES:
        if name.endswith(bad):
            return f"may not end with {bad!r}"
    return None


def replace_suffix(text: str, suffix: str, replacement: str) -> str:
    """The text with the suffix replaced wherever it stands as a whole word (not inside a longer run of
    letters and digits): how a template is compared, cached or linted apart from its suffix."""
    return re.sub(rf"(?<![A-Za-z0-9]){re.escape(suffix)}(?![A-Za-z0-9])", lambda _: replacement, text)
