"""The stack policy synth writes: what it protects, from the families' DataHolder declarations (the
bucket, the table, the key when there is one), and that it allows every other update."""

from __future__ import annotations

import json

import pytest

from builder.stack_policy import PERMISSIVE, document
from builder.synth import stacks_for
from tests.variants import variant_configs


@pytest.mark.parametrize("variant, protected", [
    ("pay-per-request", {"app-pr1": ["DataBucket", "DataTable"]}),
    ("provisioned+key", {"app-pr1": ["DataBucket", "DataKey", "DataTable"]}),
    ("pay-per-request+replication+key", {"app-pr1-replica": ["ReplicaBucket", "ReplicaKey"],
                                         "app-pr1": ["DataBucket", "DataKey", "DataTable"]}),
])
def test_the_policy_denies_replacing_and_deleting_the_bucket_the_table_and_the_key(variant, protected):
    (config,) = variant_configs(variant, ["pr1"])
    stacks = stacks_for(config)
    assert {stack.name: list(stack.protected) for stack in stacks} == protected
    for stack in stacks:
        allow, deny = json.loads(stack.policy_body)["Statement"]
        assert allow == {"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"}
        assert deny["Effect"] == "Deny" and deny["Action"] == ["Update:Replace", "Update:Delete"]
        assert deny["Resource"] == [f"LogicalResourceId/{logical_id}" for logical_id in protected[stack.name]]
        template = json.loads(stack.template_body)["Resources"]
        assert all(f"LogicalResourceId/{logical_id}" not in deny["Resource"] for logical_id, resource
                   in template.items() if resource["Type"].startswith(("AWS::CloudWatch::", "AWS::IAM::")))


def test_without_anything_protected_the_policy_only_allows():
    assert document(()) == PERMISSIVE == {"Statement": [{"Effect": "Allow", "Action": "Update:*", "Principal": "*",
                                                         "Resource": "*"}]}
