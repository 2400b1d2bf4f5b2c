"""`deploy`: deploy stacks through change sets, streaming their events."""

from __future__ import annotations

import argparse

from builder.cli.common import (
    Subparsers,
    add_artifact_bucket_option,
    add_command,
    add_output_option,
    add_pool_options,
    add_shard_option,
    finish,
    folder,
    nothing_in_shard,
    reporter_for,
    stack_groups,
)
from builder.errors import EXIT_OK, UsageError

DESCRIPTION = """\
Synthesize each stack in memory (the same bytes synth writes), make a change set with every parameter
value passed explicitly, print it, execute it and stream the stack events until the stack settles;
then print the outputs and write them to <out>/<stack>.outputs.json. Nothing to change: says so,
exit 0. A stack settled in success that already has this template, these parameter values and tags
is not touched: no change set, two calls (three with rollback_alarms, whose rollback triggers are
compared too; --force makes the change set anyway). The replica stack
(replication on) deploys before the primary; several suffixes deploy concurrently.

The data guard compares the deployed template, parameter values and termination protection with the
new ones and stops (exit 3, before anything runs: the change set deleted, the stack and its termination
protection unchanged) on any change that would lose data: a bucket, table or customer-managed key
removed or replaced; DeletionPolicy or UpdateReplacePolicy Retain -> Delete, table deletion protection
off; objects expiring sooner (a lifecycle introduced or shortened); versioning, point-in-time recovery
or replication switched off; termination protection switched off. It prints one line per loss (the
resource, what changes, what is lost) and which config file was read. --allow-data-loss accepts them.

Every stack deploy touches carries the stack tag builder:managed-by=builder, which reap and destroy
act on. An existing stack without it is adopted (the tag added) when an earlier builder made it (its
template's Description starts "builder: "); another tool's stack of the same name is refused (exit 3).

Credentials, region and endpoint come from boto3's standard configuration (AWS_PROFILE,
AWS_ACCESS_KEY_ID, ..., AWS_ENDPOINT_URL for an emulator); the stack region from --region,
AWS_REGION, AWS_DEFAULT_REGION, an AWS_REGION file, the AWS profile's region, else us-east-1; it must
be a region botocore knows.

With check_drift on, an existing stack is first checked for drift; a drifted one is not deployed
(exit 5) unless --allow-drift (a standard change set: what the template does not change stays as it
drifted) or --revert-drift (a drift-aware change set, DeploymentMode=REVERT_DRIFT, with or without
check_drift: every drifted property is put back to the template's value; each is printed, actual ->
desired, before it runs). The two together exit 2.

CloudFormation's pre-deployment validation findings (DescribeEvents) are printed, one line each, when a
change set or the stack operation fails, and the WARN ones of every change set that is made.

A new stack whose bucket or table already exists under builder's name
(kept by an earlier stack with retain_data) is not created (exit 1); --adopt-retained imports them
(an IMPORT change set) and then deploys everything else.

exit codes: 0 deployed or nothing to change, 1 failed, 2 bad input, 3 refused by the data guard
(data would be lost) or over a stack builder did not make, 5 refused because the stack drifted
(check_drift), 130 interrupted (Ctrl-C: CloudFormation carries on; deploy again to resume)

examples:
  python -m builder deploy --suffix pr123
  python -m builder deploy --suffix pr123 --suffix pr124 --concurrency 2 --output json
  python -m builder deploy --suffix prod --allow-data-loss     # accept what the data guard listed
  python -m builder deploy --suffix prod --adopt-retained      # bring back a retained table and bucket
  python -m builder deploy --suffix prod --revert-drift        # put back what was changed by hand
"""


def add_parser(subparsers: Subparsers, common: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser = add_command(subparsers, "deploy", "deploy stacks through change sets, streaming events", DESCRIPTION,
                         [common])
    add_output_option(parser)
    parser.add_argument("--out", default="out", metavar="DIR", type=folder,
                        help="where <stack>.outputs.json go (default: out)")
    parser.add_argument("--allow-data-loss", "--allow-replacement", dest="allow_data_loss", action="store_true",
                        help="deploy even when the data guard finds that data would be lost (--allow-replacement "
                             "is the old name, kept as an alias)")
    parser.add_argument("--force", action="store_true",
                        help="make the change set even when the deployed stack already matches (no skip)")
    parser.add_argument("--allow-drift", action="store_true",
                        help="check_drift: deploy even when the stack has drifted (its template's values win)")
    parser.add_argument("--revert-drift", action="store_true",
                        help="a drift-aware change set: put every drifted property back to the template's value "
                             "(not with --allow-drift; diff --revert-drift shows actual → desired)")
    parser.add_argument("--adopt-retained", action="store_true",
                        help="a new stack whose bucket or table already exists (retain_data): import them first")
    add_artifact_bucket_option(parser)
    add_pool_options(parser)
    add_shard_option(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    from builder.ops.deploy import DeployOptions, deploy_stack, outputs_file
    from builder.ops.pool import run_all
    from builder.stack.poller import Pollers
    from builder.stack.watch import watchers
    from builder.synth import check_output_folder

    if args.revert_drift and args.allow_drift:
        raise UsageError("deploy", "--allow-drift and --revert-drift answer drift two ways (leave what the template "
                                   "does not change as it drifted, or put everything back): choose one")
    groups = stack_groups(args)
    if nothing_in_shard(args, groups):
        return EXIT_OK
    # the outputs files go there after the deploy: refuse a bad folder, or a folder in a file's place, before it
    check_output_folder(args.out, [outputs_file(stack.name, args.out).name for group in groups for stack in group])
    reporter = reporter_for(args, groups)
    options = DeployOptions(out_dir=args.out, allow_data_loss=args.allow_data_loss,
                            wait_for_others=args.wait_for_others, artifact_bucket=args.artifact_bucket,
                            force=args.force, allow_drift=args.allow_drift, adopt_retained=args.adopt_retained,
                            revert_drift=args.revert_drift)
    with Pollers(args.api_rate) as pollers:
        watch = watchers(pollers)
        outcomes = run_all(groups, lambda stack: deploy_stack(stack, options, reporter, watch), args.concurrency,
                           pollers)
    finish(outcomes, reporter, "deploy", summary=len(groups) > 1)
    return EXIT_OK
