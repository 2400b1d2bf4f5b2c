"""Destroy one stack, after emptying the buckets CloudFormation will delete.

Before deleting a stack, its versioned buckets are emptied (every object version and delete marker)
unless the deployed template keeps them (DeletionPolicy Retain: retain_data). The deployed template
decides, not today's config: a bucket CloudFormation will keep is never emptied.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from builder.deployed_cost import template_from_body
from builder.errors import OperationError
from builder.ops.deploy import WatcherFactory, outputs_file
from builder.ops.pool import Options, Outcome, Result
from builder.report import Reporter
from builder.stack import client as aws
from builder.stack.watch import StackDescription, StackWatcher

BATCH = 1000  # DeleteObjects takes at most 1000 keys
KEPT = {"Retain", "RetainExceptOnCreate", "Snapshot"}


def buckets_to_empty(template: Mapping[str, Any],
                     resources: Iterable[Mapping[str, Any]]) -> tuple[list[str], list[str]]:
    """(buckets CloudFormation will delete, buckets it will keep) as physical names."""
    policies = {logical: r.get("DeletionPolicy", "Delete")
                for logical, r in template.get("Resources", {}).items() if r.get("Type") == "AWS::S3::Bucket"}
    delete: list[str] = []
    keep: list[str] = []
    for resource in resources:
        logical, physical = resource.get("LogicalResourceId"), resource.get("PhysicalResourceId")
        if logical not in policies or not physical or resource.get("ResourceStatus") == "DELETE_COMPLETE":
            continue
        (keep if policies[logical] in KEPT else delete).append(physical)
    return delete, keep


def empty_bucket(s3: Any, bucket: str) -> int:
    """Delete every object version and delete marker, 1000 per request; the number deleted."""
    deleted = 0
    while True:
        try:
            page = s3.list_object_versions(Bucket=bucket, MaxKeys=BATCH)
        except Exception as exc:  # a bucket already gone is empty
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
                                                       f"{first.get('Key')}: {first.get('Code')} "
                                                       f"{first.get('Message')}")
            deleted += len(batch)


def _bucket_exists(s3: Any, bucket: str) -> bool:
    try:
        s3.head_bucket(Bucket=bucket)
    except Exception as exc:
        if aws.error_code(exc) in ("404", "NoSuchBucket", "NotFound"):
            return False
        raise
    return True


def _stack_resources(watcher: StackWatcher, stack_id: str) -> list[Mapping[str, Any]]:
    resources: list[Mapping[str, Any]] = []
    token = None
    while True:
        page = watcher.read("list_stack_resources", StackName=stack_id, **({"NextToken": token} if token else {}))
        resources += page.get("StackResourceSummaries", [])
        token = page.get("NextToken")
        if not token:
            return resources


def destroy_stack(name: str, region: str, options: Options, reporter: Reporter,
                  watcher_factory: WatcherFactory = StackWatcher,
                  before_delete: Callable[[StackDescription], None] | None = None,
                  role_arn: str | None = None) -> Outcome:
    """Empty the buckets CloudFormation will delete, then delete the stack and wait.

    `before_delete` sees the stack as it stands right before anything is emptied (reap looks again
    there) and may raise to stop; it is not called for a stack that does not exist. `role_arn`
    (cloudformation_role_arn) is the role CloudFormation deletes with; without it, the stack's own.
    """
    started = time.monotonic()
    watcher = watcher_factory(name, region, reporter)
    with aws.translate(name, region), watcher.interruptible("destroy"):
        current = watcher.describe()
        if current is not None:
            current = watcher.wait_for_others(current, options.wait_for_others)
        if current is None:
            watcher.say(f"{name} does not exist in {region}; nothing to delete")
            _forget_outputs(watcher, name, options.out_dir)
            return Outcome(name, region, Result.NOT_FOUND, time.monotonic() - started)
        if before_delete is not None:
            before_delete(current)
        if current.get("EnableTerminationProtection"):
            raise OperationError(name, "termination protection is on (setting termination_protection); "
                                       "deploy with termination_protection = false and --allow-data-loss first, "
                                       "then destroy")
        stack_id = current["StackId"]
        body = watcher.read("get_template", StackName=stack_id, TemplateStage="Original")["TemplateBody"]
        template = template_from_body(body, name)
        resources = _stack_resources(watcher, stack_id)
        delete, keep = buckets_to_empty(template, resources)
        for bucket in keep:
            watcher.say(f"keeping bucket {bucket} and its data (DeletionPolicy Retain: retain_data)")
        s3 = watcher.client("s3") if delete else None
        for bucket in delete:
            count = empty_bucket(s3, bucket)
            watcher.say(f"emptied bucket {bucket}: {count} object version(s) and delete marker(s) deleted")
        reporter.begin(name, len(resources))
        try:
            final = watcher.delete_and_wait(current, role_arn)
        finally:
            reporter.end(name)
        if final["StackStatus"] != "DELETE_COMPLETE":
            raise OperationError(name, f"{final['StackStatus']}: {watcher.root_cause()}")
        left = [bucket for bucket in delete if _bucket_exists(s3, bucket)]
    if left:
        raise OperationError(name, f"the stack is deleted but bucket {', '.join(left)} still exists; "
                                         f"empty and delete it by hand")
    _forget_outputs(watcher, name, options.out_dir)
    watcher.say(f"deleted in {time.monotonic() - started:.1f} s")
    return Outcome(name, region, Result.DELETED, time.monotonic() - started)


def _forget_outputs(watcher: StackWatcher, name: str, out_dir: str) -> None:
    """The outputs file deploy wrote describes a stack that no longer exists: remove it."""
    path = outputs_file(name, out_dir)
    if path.is_file():
        path.unlink()
        watcher.say(f"removed {path}: its stack no longer exists")
