"""Every physical name a stack uses, derived from stack_prefix and suffix in one place.

Names carry `${AWS::AccountId}` (and sometimes `${AWS::Region}`) for Fn::Sub, so many suffixes
coexist in one account and S3 names stay globally unique. Validation measures the same strings
with a 12-digit account id in place, so a suffix that fits here fits in AWS.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

ACCOUNT_ID_LENGTH = 12
S3_BUCKET_NAME_MAX = 63
S3_BUCKET_NAME_MIN = 3

_S3_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*[a-z0-9]\Z")
_S3_FORBIDDEN_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_S3_FORBIDDEN_SUFFIXES = ("-s3alias", "--ol-s3", "--x-s3", "--table-s3")
_SUFFIX = re.compile(r"^[a-z0-9]+(-+[a-z0-9]+)*\Z")
_PREFIX = r"[a-z][a-z0-9]*(-[a-z0-9]+)*"  # compiled on first use: only a given prefix is checked
MAX_PREFIX = 32
REPLICA = "-replica"  # the end of a replica stack's name: no suffix may end in it


def stack_name(prefix: str, suffix: str) -> str:
    return f"{prefix}-{suffix}"


def replica_stack_name(prefix: str, suffix: str) -> str:
    return f"{stack_name(prefix, suffix)}{REPLICA}"


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


def _bucket_names(prefix: str, suffix: str, regions: Sequence[str]) -> list[str]:
    """The data bucket in the stack's region (the first) and a replica bucket in each of the others."""
    replicas = [replica_bucket_name(prefix, suffix, region) for region in regions[1:]]
    return [data_bucket_name(prefix, suffix, regions[0]), *replicas]


def max_suffix_length(prefix: str, regions: Sequence[str]) -> int:
    """The longest suffix whose every bucket name fits S3's 63 characters."""
    lengths = [len(with_account(n)) for n in _bucket_names(prefix, "", regions)]
    return S3_BUCKET_NAME_MAX - max(lengths)


def prefix_problem(prefix: str) -> str | None:
    """What is wrong with a stack_prefix (its form, and the bucket names it starts), or None."""
    if not (re.fullmatch(_PREFIX, prefix) and len(prefix) <= MAX_PREFIX):
        return (f"{prefix!r} must start with a lowercase letter and hold only lowercase letters, digits and "
                f"single hyphens, at most {MAX_PREFIX}")
    bucket = with_account(data_bucket_name(prefix, "a", "us-east-1"))
    problem = s3_bucket_name_problem(bucket)  # S3 reserves some name starts, such as 'sthree-'
    return f"{prefix!r} makes bucket names such as {bucket!r}, which {problem}; choose another" if problem else None


def suffix_form_problem(suffix: str) -> str | None:
    """What is wrong with a suffix whatever the prefix and regions: empty, a character names cannot hold,
    or the end of a replica stack's name. None when its form is right."""
    if not suffix:
        return "is empty; use lowercase letters, digits and hyphens, such as pr123"
    if not _SUFFIX.match(suffix):
        lowered = re.sub(r"[^a-z0-9-]+", "-", suffix.lower()).strip("-")
        hint = f", such as {lowered!r}" if lowered and _SUFFIX.match(lowered) else ""
        return (f"{suffix!r} is not allowed: use lowercase letters, digits and hyphens (not at either end) "
                f"(S3 bucket and stack names){hint}")
    if suffix.endswith(REPLICA):
        return (f"{suffix!r} ends in {REPLICA!r}: its stack name would collide with the replica stack of suffix "
                f"{suffix[:-len(REPLICA)]!r}; choose another suffix")
    return None


def suffix_length_problem(suffix: str, prefix: str, regions: Sequence[str]) -> str | None:
    """What is wrong with a well-formed suffix in the bucket names of this prefix and these regions (the
    stack's first, then every region holding a replica bucket), or None."""
    longest = max_suffix_length(prefix, regions)
    if len(suffix) > longest:
        return (f"{suffix!r} is {len(suffix)} characters; with stack_prefix {prefix!r} in {' and '.join(regions)} "
                f"the longest suffix allowed is {longest} (S3 bucket names are at most {S3_BUCKET_NAME_MAX})")
    for name in _bucket_names(prefix, suffix, regions):
        problem = s3_bucket_name_problem(with_account(name))
        if problem:
            return f"makes the bucket name {with_account(name)!r}, which {problem}"
    return None
