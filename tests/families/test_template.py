"""The template: one structure for every suffix, Conditions wired, tags, names, thresholds, retention."""

from __future__ import annotations

import json

import pytest
from troposphere import s3

from builder import names
from builder.families.replication import REPLICATION_ON, REPLICATION_TIME_CONTROL_ON
from builder.families.table import IS_PROVISIONED
from builder.resources import build_replica_template, build_template, compose, deploy_parameters, parameter_specs
from builder.synth import required_capabilities, stacks_for
from tests.factories import REPLICATION_SETTINGS as REPLICATION
from tests.factories import config

PROVISIONED = ["dynamodb_billing_mode=PROVISIONED", "dynamodb_read_capacity=5", "dynamodb_write_capacity=3"]
TAGGABLE = {"AWS::S3::Bucket", "AWS::DynamoDB::Table", "AWS::SNS::Topic", "AWS::CloudWatch::Alarm",
            "AWS::IAM::Role", "AWS::KMS::Key"}


def template(suffix="pr123", sets=()):
    return build_template(config(*sets, suffix=suffix)).to_dict()


def structure(doc: dict, suffix: str) -> str:
    """The template with the values a suffix changes taken out: parameter defaults and the suffix itself."""
    doc = json.loads(json.dumps(doc))
    for parameter in doc.get("Parameters", {}).values():
        parameter.pop("Default", None)
    text = json.dumps(doc, sort_keys=True)
    return names.replace_suffix(text, suffix, "<suffix>")


@pytest.mark.parametrize("sets", [[], PROVISIONED, REPLICATION, PROVISIONED + REPLICATION])
def test_one_structure_for_every_suffix(sets):
    first = structure(template("pr123", sets), "pr123")
    for suffix in ("synthaw2nm", "synth-12345", "prod", "q"):
        assert structure(template(suffix, sets), suffix) == first


def test_deploy_time_settings_do_not_change_structure():
    """Billing mode and replication are Parameters: only Defaults differ between these configs."""
    base = structure(template("pr1"), "pr1")
    assert structure(template("pr1", PROVISIONED + REPLICATION + ["replication_time_control=true",
                                                                  "bucket_lifecycle_days=9",
                                                                  "alarm_threshold_multiplier=3"]), "pr1") == base


@pytest.mark.parametrize("sets", [["customer_managed_key=true"], ["retain_data=true"]])
def test_synth_time_settings_change_structure(sets):
    assert structure(template("pr1", sets), "pr1") != structure(template("pr1"), "pr1")


def test_billing_mode_is_chosen_by_a_condition():
    doc = template()
    assert doc["Conditions"][IS_PROVISIONED] == {"Fn::Equals": [{"Ref": "BillingMode"}, "PROVISIONED"]}
    table = doc["Resources"]["DataTable"]["Properties"]
    assert table["BillingMode"] == {"Fn::If": [IS_PROVISIONED, "PROVISIONED", "PAY_PER_REQUEST"]}
    assert table["ProvisionedThroughput"] == {"Fn::If": [IS_PROVISIONED, {
        "ReadCapacityUnits": {"Ref": "ReadCapacity"}, "WriteCapacityUnits": {"Ref": "WriteCapacity"}},
        {"Ref": "AWS::NoValue"}]}


@pytest.mark.parametrize("sets,mode,read,write", [([], "PAY_PER_REQUEST", "1", "1"),
                                                  (PROVISIONED, "PROVISIONED", "5", "3")])
def test_parameter_defaults_carry_the_suffix_config(sets, mode, read, write):
    params = template("pr1", sets)["Parameters"]
    assert (params["BillingMode"]["Default"], params["ReadCapacity"]["Default"],
            params["WriteCapacity"]["Default"]) == (mode, read, write)
    assert deploy_parameters(config(*sets)) == {k: v["Default"] for k, v in params.items()}


def test_replication_is_conditional_with_its_role_and_time_control():
    doc = template("pr1", REPLICATION + ["replication_time_control=true"])
    assert doc["Conditions"][REPLICATION_ON] == {"Fn::Equals": [{"Ref": "ReplicationEnabled"}, "true"]}
    assert doc["Conditions"][REPLICATION_TIME_CONTROL_ON] == {"Fn::And": [
        {"Condition": REPLICATION_ON}, {"Fn::Equals": [{"Ref": "ReplicationTimeControl"}, "true"]}]}
    bucket = doc["Resources"]["DataBucket"]["Properties"]
    replication = bucket["ReplicationConfiguration"]["Fn::If"]
    assert replication[0] == REPLICATION_ON and replication[2] == {"Ref": "AWS::NoValue"}
    destination = replication[1]["Rules"][0]["Destination"]
    assert destination["ReplicationTime"]["Fn::If"][0] == REPLICATION_TIME_CONTROL_ON
    assert destination["Metrics"]["Fn::If"][0] == REPLICATION_TIME_CONTROL_ON
    assert "app-pr1-replica-${AWS::AccountId}-${Region}" in destination["Bucket"]["Fn::Sub"][0]
    assert doc["Resources"]["ReplicationRole"]["Condition"] == REPLICATION_ON
    assert doc["Parameters"]["ReplicationTimeControl"]["Default"] == "true"


def test_the_bucket_names_its_replication_role_by_ref_as_the_arn_aws_gives_it():
    """No GetAtt inside the Fn::If (LocalStack cannot then switch replication off): the ARN is built from
    the role's name, which equals GetAtt's Arn only while the role has the default path "/"."""
    doc = template("pr1", REPLICATION)
    role = doc["Resources"]["DataBucket"]["Properties"]["ReplicationConfiguration"]["Fn::If"][1]["Role"]
    assert "Fn::GetAtt" not in json.dumps(doc["Resources"]["DataBucket"])
    assert "Path" not in doc["Resources"]["ReplicationRole"]["Properties"]
    parts = {"AWS::Partition": "aws-cn", "AWS::AccountId": "123456789012", "ReplicationRole": "app-pr1-Role-X1"}

    def resolve(node):
        if isinstance(node, dict) and "Ref" in node:
            return parts[node["Ref"]]
        if isinstance(node, dict) and "Fn::Join" in node:
            separator, items = node["Fn::Join"]
            return separator.join(resolve(item) for item in items)
        return node

    assert resolve(role) == "arn:aws-cn:iam::123456789012:role/app-pr1-Role-X1"


def test_time_control_is_off_by_default_even_with_replication():
    assert template("pr1", REPLICATION)["Parameters"]["ReplicationTimeControl"]["Default"] == "false"


def test_replica_stack_only_with_replication_and_deployed_first():
    assert [s.name for s in stacks_for(config())] == ["app-pr1"]
    replica, primary = stacks_for(config(*REPLICATION))
    assert (replica.name, replica.region, replica.is_replica) == ("app-pr1-replica", "eu-west-1", True)
    assert (primary.name, primary.region) == ("app-pr1", "us-east-1")
    doc = json.loads(replica.template_body)
    bucket = doc["Resources"]["ReplicaBucket"]["Properties"]
    assert bucket["BucketName"] == {"Fn::Sub": "app-pr1-replica-${AWS::AccountId}-${AWS::Region}"}
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}  # S3 replication needs it on both sides


@pytest.mark.parametrize("suffix", ["pr123", "synth-12345", "x"])
def test_names_derive_from_prefix_and_suffix(suffix):
    resources = template(suffix, ["stack_prefix=team"])["Resources"]
    assert resources["DataBucket"]["Properties"]["BucketName"] == {
        "Fn::Sub": f"team-{suffix}-data-${{AWS::AccountId}}-${{AWS::Region}}"}
    assert resources["DataTable"]["Properties"]["TableName"] == f"team-{suffix}-data"
    assert resources["AlertTopic"]["Properties"]["TopicName"] == f"team-{suffix}-alerts"
    alarm_names = sorted(r["Properties"]["AlarmName"] for r in resources.values()
                         if r["Type"] == "AWS::CloudWatch::Alarm")
    asked = compose(config("stack_prefix=team", suffix=suffix)).alarms
    assert alarm_names == sorted(f"team-{suffix}-{spec.what}" for spec in asked)
    assert {"table-read-throttles", "table-write-throttles", "table-system-errors", "bucket-size"} <= {
        spec.what for spec in asked}


@pytest.mark.parametrize("sets", [[], ["customer_managed_key=true"] + REPLICATION])
def test_every_taggable_resource_carries_the_merged_tags(sets):
    conf = config(*sets, "tags.team=data", "cost_center=research",
                  suffix="pr9")  # Environment: refused, see test_environment
    expected = [{"Key": "CostCenter", "Value": "research"}, {"Key": "Environment", "Value": "pr9"},
                {"Key": "team", "Value": "data"}]
    docs = [build_template(conf).to_dict()] + ([build_replica_template(conf).to_dict()] if sets else [])
    seen = set()
    for doc in docs:
        for title, resource in doc["Resources"].items():
            if resource["Type"] in TAGGABLE:
                seen.add(resource["Type"])
                assert resource["Properties"]["Tags"] == expected, title
    assert seen == (TAGGABLE if sets else TAGGABLE - {"AWS::KMS::Key"})


@pytest.mark.parametrize("multiplier", [0.75, 1, 2.5])
def test_alarm_thresholds_scale_with_the_multiplier(multiplier):
    conf = config(f"alarm_threshold_multiplier={multiplier}", suffix="pr1")
    doc = build_template(conf).to_dict()
    # the thresholds of the alarms in this template (a family's opt-in alarm brings its own only when on)
    thresholds = [spec for spec in parameter_specs() if spec.setting == "alarm_threshold_multiplier"
                  and spec.present(conf)]
    assert {"BucketSizeThreshold", "ReadThrottleThreshold", "SystemErrorThreshold"} <= {t.title for t in thresholds}
    for spec in thresholds:
        base = float(spec.value(config("alarm_threshold_multiplier=1", suffix="pr1")))
        assert float(doc["Parameters"][spec.title]["Default"]) == pytest.approx(base * multiplier)
    alarms = [r["Properties"] for r in doc["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    assert sorted(a["Threshold"]["Ref"] for a in alarms) == sorted(spec.threshold for spec in compose(conf).alarms)
    assert all(a["AlarmActions"] == [{"Ref": "AlertTopic"}] for a in alarms)


@pytest.mark.parametrize("retain,policy", [(False, "Delete"), (True, "Retain")])
def test_retain_data_sets_deletion_and_replace_policies(retain, policy):
    conf = config(f"retain_data={str(retain).lower()}", *REPLICATION)
    for doc, titles in ((build_template(conf).to_dict(), ("DataBucket", "DataTable")),
                        (build_replica_template(conf).to_dict(), ("ReplicaBucket",))):
        for title in titles:
            assert doc["Resources"][title]["DeletionPolicy"] == policy
            assert doc["Resources"][title]["UpdateReplacePolicy"] == policy
    rules = build_template(conf).to_dict()["Resources"]["DataBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert ("ExpireCurrentObjects" in [r["Id"] for r in rules]) is (not retain)
    assert {"ExpireNoncurrentVersions", "AbortIncompleteMultipartUploads"} <= {r["Id"] for r in rules}


def test_bucket_is_private_versioned_encrypted_and_tls_only():
    resources = template()["Resources"]
    bucket = resources["DataBucket"]["Properties"]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "AES256"}
    (statement,) = resources["DataBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny" and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_customer_managed_key_encrypts_topic_bucket_and_table():
    resources = template("pr1", ["customer_managed_key=true"])["Resources"]
    assert resources["DataKey"]["Properties"]["EnableKeyRotation"] is True
    assert resources["AlertTopic"]["Properties"]["KmsMasterKeyId"] == {"Ref": "DataKey"}
    assert resources["DataTable"]["Properties"]["SSESpecification"]["KMSMasterKeyId"] == {"Ref": "DataKey"}
    default = resources["DataBucket"]["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert default["ServerSideEncryptionByDefault"]["KMSMasterKeyID"] == {"Fn::GetAtt": ["DataKey", "Arn"]}
    assert "KmsMasterKeyId" not in template("pr1")["Resources"]["AlertTopic"]["Properties"]


def test_outputs_are_exported_under_the_stack_name():
    outputs = template()["Outputs"]
    assert {"BucketName", "BucketArn", "TableName", "TableArn", "AlertTopicArn"} <= set(outputs)
    for title, output in outputs.items():
        assert output["Export"]["Name"] == {"Fn::Sub": f"${{AWS::StackName}}-{title}"}


def test_only_the_capabilities_the_template_needs():
    assert required_capabilities(template()) == ("CAPABILITY_IAM",)
    assert required_capabilities(build_replica_template(config(*REPLICATION)).to_dict()) == ()
    named = {"Resources": {"R": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "x"}}}}
    assert required_capabilities(named) == ("CAPABILITY_NAMED_IAM",)


def test_troposphere_property_names_used_exist():
    """Guards the troposphere version: these properties are what the template relies on."""
    assert {"ReplicationConfiguration", "OwnershipControls", "LifecycleConfiguration"} <= set(s3.Bucket.props)
