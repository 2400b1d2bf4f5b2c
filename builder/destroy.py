"""Destroy an environment's stacks (primary, then replica) and show the status of deployed ones.

Before deleting a stack, its versioned buckets are emptied (every object version and delete marker)
unless the deployed template keeps them (DeletionPolicy Retain: retain_data). The deployed template
decides, not today's config: a bucket CloudFormation will keep is never emptied.
"""

from __future__ import annotations

import json
import time
from typing import Any, Iterable, Mapping, Sequence

from builder.stack import client as aws
from builder.deploy import Options, Outcome, StackOps, stack_outputs
from builder.errors import OperationError
from builder.report import Reporter, table
from builder.synth import Stack

BATCH = 1000  # DeleteObjects takes at most 1000 keys
KEPT = {"Retain", "RetainExceptOnCreate", "Snapshot"}


def _template_dict(body: Any) -> dict:
    if isinstance(body, dict):
        return body
    try:
        return json.loads(body)
    except (TypeError, ValueError):
        from cfn_flip import to_json  # YAML, only deployed by hand: a slow import, so only then

        return json.loads(to_json(body))


def buckets_to_empty(template: Mapping[str, Any], resources: Iterable[Mapping[str, Any]]) -> tuple[list[str], list[str]]:
    """(buckets CloudFormation will delete, buckets it will keep) as physical names."""
    policies = {logical: r.get("DeletionPolicy", "Delete")
                for logical, r in template.get("Resources", {}).items() if r.get("Type") == "AWS::S3::Bucket"}
    delete, keep = [], []
    for resource in resources:
        logical, physical = resource.get("LogicalResourceId"), resource.get("PhysicalResourceId")
        if logical not in policies or not physical or resource.get("ResourceStatus") == "DELETE_COMPLETE":
            continue
        (keep if policies[logical] in KEPT else delete).append(physical)
    return delete, keep


def empty_bucket(s3, bucket: str) -> int:
    """Delete every object version and delete marker, 1000 per request; the number deleted."""
    deleted = 0
    while True:
        try:
            page = s3.list_object_versions(Bucket=bucket, MaxKeys=BATCH)
        except Exception as exc:  # noqa: BLE001 - a bucket already gone is empty
            if aws.error_code(exc) == "NoSuchBucket":
                return deleted
            raise
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
                                                       f"{first.get('Key')}: {first.get('Code')} {first.get('Message')}")
            deleted += len(batch)


def _bucket_exists(s3, bucket: str) -> bool:
    try:
        s3.head_bucket(Bucket=bucket)
    except Exception as exc:  # noqa: BLE001
        if aws.error_code(exc) in ("404", "NoSuchBucket", "NotFound"):
            return False
        raise
    return True


def _stack_resources(ops: StackOps, stack_id: str) -> list[Mapping[str, Any]]:
    paginator = ops.cf.get_paginator("list_stack_resources")
    return [r for page in paginator.paginate(StackName=stack_id) for r in page.get("StackResourceSummaries", [])]


def destroy_stack(stack: Stack, options: Options, reporter: Reporter, ops_factory=StackOps) -> Outcome:
    started = time.monotonic()
    ops = ops_factory(stack.name, stack.region, reporter)
    with aws.translate(stack.name, stack.region):
        current = ops.describe()
        if current is not None:
            current = ops.wait_for_others(current, options.wait_for_others)
        if current is None:
            ops.say(f"{stack.name} does not exist in {stack.region}; nothing to delete")
            return Outcome(stack.name, stack.region, "not found", time.monotonic() - started)
        if current.get("EnableTerminationProtection"):
            raise OperationError(stack.name, "termination protection is on; turn it off first: aws cloudformation "
                                             f"update-termination-protection --no-enable-termination-protection "
                                             f"--region {stack.region} --stack-name {stack.name}")
        stack_id = current["StackId"]
        template = _template_dict(ops.cf.get_template(StackName=stack_id, TemplateStage="Original")["TemplateBody"])
        resources = _stack_resources(ops, stack_id)
        delete, keep = buckets_to_empty(template, resources)
        for bucket in keep:
            ops.say(f"keeping bucket {bucket} and its data (DeletionPolicy Retain: retain_data)")
        s3 = aws.client(ops.session, "s3") if delete else None
        for bucket in delete:
            count = empty_bucket(s3, bucket)
            ops.say(f"emptied bucket {bucket}: {count} object version(s) and delete marker(s) deleted")
        reporter.begin(stack.name, len(resources))
        try:
            final = ops.delete_and_wait(current)
        finally:
            reporter.end(stack.name)
        if final["StackStatus"] != "DELETE_COMPLETE":
            raise OperationError(stack.name, f"{final['StackStatus']}: {ops.root_cause()}")
        left = [bucket for bucket in delete if _bucket_exists(s3, bucket)]
    if left:
        raise OperationError(stack.name, f"the stack is deleted but bucket {', '.join(left)} still exists; "
                                         f"empty and delete it by hand")
    ops.say(f"deleted in {time.monotonic() - started:.1f} s")
    return Outcome(stack.name, stack.region, "deleted", time.monotonic() - started)


# ---------------------------------------------------------------------- status

def _tag(stack: Mapping[str, Any], key: str) -> str:
    return next((t["Value"] for t in stack.get("Tags", []) if t["Key"] == key), "")


def status_record(stack: Mapping[str, Any], region: str) -> dict[str, Any]:
    last = stack.get("LastUpdatedTime") or stack.get("CreationTime")
    return {"stack": stack["StackName"], "region": region, "status": stack["StackStatus"],
            "last_change": last.strftime("%Y-%m-%d %H:%M:%S UTC") if hasattr(last, "strftime") else str(last or ""),
            "environment": _tag(stack, "Environment"), "outputs": stack_outputs(stack)}


def missing_record(name: str, region: str) -> dict[str, Any]:
    return {"stack": name, "region": region, "status": "NOT DEPLOYED", "last_change": "", "environment": "",
            "outputs": {}}


def stack_status(stacks: Sequence[Stack]) -> list[dict[str, Any]]:
    records = []
    for stack in stacks:
        ops = StackOps(stack.name, stack.region, Reporter())
        with aws.translate(stack.name, stack.region):
            found = ops.describe()
        records.append(status_record(found, stack.region) if found else missing_record(stack.name, stack.region))
    return records


def stacks_with_prefix(prefix: str, regions: Sequence[str]) -> list[dict[str, Any]]:
    """Every live stack named <prefix>-... in the regions (one DescribeStacks page per 100 stacks)."""
    records = []
    for region in dict.fromkeys(regions):
        cf = aws.client(aws.session(region), "cloudformation")
        with aws.translate(f"stacks {prefix}-* in {region}", region):
            for page in cf.get_paginator("describe_stacks").paginate():
                records += [status_record(s, region) for s in page.get("Stacks", [])
                            if s["StackName"].startswith(f"{prefix}-") and s["StackStatus"] != "DELETE_COMPLETE"]
    return sorted(records, key=lambda r: (r["stack"], r["region"]))


def status_lines(record: Mapping[str, Any]) -> list[str]:
    head = f"{record['stack']}  {record['region']}  {record['status']}"
    if record["last_change"]:
        head += f"  last change {record['last_change']}"
    if record["environment"]:
        head += f"  Environment={record['environment']}"
    rows = list(record["outputs"].items())
    return [head, *(table(rows, ("Output", "Value")) if rows else [])]
