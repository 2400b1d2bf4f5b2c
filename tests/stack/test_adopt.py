"""builder.stack.adopt: the IMPORT template from builder's own template, and the IMPORT request.

The request is checked with botocore's Stubber because LocalStack 2026.3 does not implement IMPORT
change sets (501 InternalFailure on an existing stack, "Stack ... does not exist" on a new one;
pinned in test_adopt_emulator.py). find_retained runs against the emulator there.
"""

from __future__ import annotations

import json

import pytest

from builder.errors import OperationError
from builder.resources import build_template
from builder.stack import adopt
from tests.factories import GAP_MESSAGE, config

BUCKET = adopt.Retained("DataBucket", "AWS::S3::Bucket", "app-pr1-data-123456789012-us-east-1")
TABLE = adopt.Retained("DataTable", "AWS::DynamoDB::Table", "app-pr1-data")
CHANGE_SET_ID = "arn:aws:cloudformation:us-east-1:123456789012:changeSet/adopt-1/1a2345b6-0000-00a0-a123-00abc0abc000"


def template(*sets: str) -> dict:
    return build_template(config(*sets, region="us-east-1")).to_dict()


def test_import_template_keeps_only_the_data_with_retain_policies():
    full = template("retain_data=true")
    result = adopt.import_template(full, [BUCKET, TABLE])
    assert sorted(result.body["Resources"]) == ["DataBucket", "DataTable"]
    for logical_id in ("DataBucket", "DataTable"):
        resource = result.body["Resources"][logical_id]
        assert (resource["DeletionPolicy"], resource["UpdateReplacePolicy"]) == ("Retain", "Retain")
        assert resource["Type"] == full["Resources"][logical_id]["Type"]
    assert "Outputs" not in result.body and result.body["Parameters"] == full["Parameters"]
    table = result.body["Resources"]["DataTable"]["Properties"]
    assert table["TableName"] == full["Resources"]["DataTable"]["Properties"]["TableName"]
    assert table["KeySchema"] == full["Resources"]["DataTable"]["Properties"]["KeySchema"]
    # the replication rule refers to the replication role, which is not imported: the normal change
    # set after the import sets it
    assert result.left_out == ("DataBucket.ReplicationConfiguration",)
    assert "ReplicationConfiguration" not in result.body["Resources"]["DataBucket"]["Properties"]
    json.dumps(result.body)  # a plain JSON document


def test_properties_referring_to_resources_outside_the_import_are_left_out():
    full = template("retain_data=true", "customer_managed_key=true")
    result = adopt.import_template(full, [TABLE])
    assert "DataTable.SSESpecification" in result.left_out  # KMSMasterKeyId: Ref DataKey
    assert "SSESpecification" not in result.body["Resources"]["DataTable"]["Properties"]
    assert list(result.body["Resources"]) == ["DataTable"]


@pytest.mark.parametrize("value, names", [
    ({"Ref": "Key"}, {"Key"}),
    ({"Fn::GetAtt": ["Key", "Arn"]}, {"Key"}),
    ({"Fn::GetAtt": "Key.Arn"}, {"Key"}),
    ({"Fn::Sub": "${Prefix}-${AWS::AccountId}-${Key.Arn}-${!Literal}"}, {"Prefix", "AWS::AccountId", "Key"}),
    ({"Fn::Sub": ["${Local}-${Role}", {"Local": {"Ref": "Topic"}}]}, {"Role", "Topic"}),
    ([{"Fn::If": ["On", {"Ref": "A"}, {"Ref": "AWS::NoValue"}]}], {"A", "AWS::NoValue"}),
    ("plain", set()),
])
def test_references(value, names):
    assert adopt._referenced(value) == names


def test_depends_on_other_resources_is_dropped():
    full = {"Resources": {"T": {"Type": "AWS::DynamoDB::Table", "DependsOn": ["Key", "B"], "Properties": {}},
                          "B": {"Type": "AWS::S3::Bucket", "DependsOn": "Key"},
                          "Key": {"Type": "AWS::KMS::Key"}}}
    body = adopt.import_template(full, [adopt.Retained("T", "AWS::DynamoDB::Table", "t"),
                                        adopt.Retained("B", "AWS::S3::Bucket", "b")]).body
    assert body["Resources"]["T"]["DependsOn"] == ["B"] and "DependsOn" not in body["Resources"]["B"]


def test_import_change_set_request(cf):
    result = adopt.import_template(template("retain_data=true"), [BUCKET, TABLE])
    cf.add_response("create_change_set", {"Id": CHANGE_SET_ID, "StackId": "arn:aws:cloudformation:x"}, {
        "StackName": "app-pr1", "ChangeSetName": "adopt-1", "ChangeSetType": "IMPORT",
        "TemplateBody": json.dumps(result.body, sort_keys=True),
        "ResourcesToImport": [
            {"ResourceType": "AWS::S3::Bucket", "LogicalResourceId": "DataBucket",
             "ResourceIdentifier": {"BucketName": "app-pr1-data-123456789012-us-east-1"}},
            {"ResourceType": "AWS::DynamoDB::Table", "LogicalResourceId": "DataTable",
             "ResourceIdentifier": {"TableName": "app-pr1-data"}}],
        "Parameters": [{"ParameterKey": "BucketLifecycleDays", "ParameterValue": "30"}],
        "RoleARN": "arn:aws:iam::123456789012:role/cfn"})
    assert adopt.import_change_set(cf.client, "app-pr1", "adopt-1", result, [BUCKET, TABLE],
                                   parameters=[{"ParameterKey": "BucketLifecycleDays", "ParameterValue": "30"}],
                                   role_arn="arn:aws:iam::123456789012:role/cfn") == CHANGE_SET_ID


def test_import_change_set_on_an_endpoint_without_import_is_one_line(cf):
    cf.add_client_error("create_change_set", "InternalFailure", GAP_MESSAGE, 501)
    with pytest.raises(OperationError) as caught:
        adopt.import_change_set(cf.client, "app-pr1", "adopt-1", adopt.ImportTemplate({"Resources": {}}, ()), [TABLE])
    assert caught.value.lines() == [(f"error: app-pr1: this endpoint does not implement IMPORT change sets "
                                     f"(InternalFailure: {GAP_MESSAGE}); adopt retained resources against AWS itself")]
