"""Every policy document in every synthesized variant, read from the written template and checked.

Properties (issue 4): no wildcard actions in Allow statements (the one Deny that refuses non-TLS
requests uses s3:*, on purpose: it must cover every S3 action); resources scoped to this stack's
buckets, table, topic and keys (and the replica); the topic policy lets only CloudWatch publish,
with aws:SourceAccount and aws:SourceArn (each alarm's exact ARN); every bucket policy denies
requests without TLS; a KMS key policy grants only what CloudWatch, SNS, S3 and DynamoDB need.
A key policy's Resource "*" means "this key" (a key policy cannot name another key).
"""

from __future__ import annotations

import json

import pytest

from builder import names
from builder.resources import compose
from tests.variants import FIXED_SUFFIXES, VARIANTS, suffixes_for, synth_variants, variant_configs

POLICY_VERSION = "2012-10-17"
ACCOUNT = {"Ref": "AWS::AccountId"}
ACCOUNT_ROOT = {"AWS": [{"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}]}
KMS_ADMIN = {"kms:DescribeKey", "kms:GetKeyPolicy", "kms:PutKeyPolicy", "kms:GetKeyRotationStatus",
             "kms:EnableKeyRotation", "kms:DisableKeyRotation", "kms:EnableKey", "kms:DisableKey",
             "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:TagResource", "kms:UntagResource",
             "kms:ListResourceTags", "kms:UpdateKeyDescription", "kms:CreateAlias", "kms:DeleteAlias",
             "kms:UpdateAlias"}
# What S3, DynamoDB and SNS need to use a customer-managed key on a caller's behalf.
KMS_USE = {"kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey",
           "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey", "kms:CreateGrant"}
# What CloudWatch needs to publish to an encrypted topic.
KMS_CLOUDWATCH = {"kms:Decrypt", "kms:GenerateDataKey"}
SUFFIXES = (*FIXED_SUFFIXES, "longest")


@pytest.fixture(scope="module")
def templates(tmp_path_factory) -> dict[tuple[str, str, bool], dict]:
    """(variant, suffix, is_replica) -> the template as written by synth."""
    out = tmp_path_factory.mktemp("variants")
    found = {}
    for path in synth_variants(out):
        variant = path.parent.name
        replica = path.name.endswith("-replica.template.json")
        suffix = path.name[len("app-"):-len("-replica.template.json" if replica else ".template.json")]
        found[(variant, suffix, replica)] = json.loads(path.read_text(encoding="utf-8"))
    return found


def cases() -> list[tuple[str, int, bool]]:
    return [(variant, index, replica) for variant in VARIANTS for index in range(len(SUFFIXES))
            for replica in ((False, True) if "+replication" in variant else (False,))]


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def policy_documents(template: dict) -> list[tuple[str, str, dict]]:
    """(resource, kind, document) for every policy document; fails on a policy it does not know."""
    found = []
    for title, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        kind = resource["Type"]
        if kind == "AWS::KMS::Key":
            found.append((title, "key", props["KeyPolicy"]))
        elif kind == "AWS::S3::BucketPolicy":
            found.append((title, "bucket", props["PolicyDocument"]))
        elif kind == "AWS::SNS::TopicPolicy":
            found.append((title, "topic", props["PolicyDocument"]))
        elif kind == "AWS::IAM::Role":
            found.append((title, "trust", props["AssumeRolePolicyDocument"]))
            found += [(title, "identity", policy["PolicyDocument"]) for policy in props.get("Policies", [])]
            assert "ManagedPolicyArns" not in props, f"{title}: managed policies are not checked here"
        else:
            text = json.dumps(props)
            assert '"Statement"' not in text, f"{title} ({kind}) holds a policy this test does not check"
    return found


@pytest.fixture(params=cases(), ids=lambda c: f"{c[0]}-{SUFFIXES[c[1]]}{'-replica' if c[2] else ''}")
def case(request, templates):
    variant, index, replica = request.param
    suffix = suffixes_for(VARIANTS[variant], [SUFFIXES[index]])[0]
    return variant, suffix, replica, templates[(variant, suffix, replica)]


def test_the_matrix_covers_every_variant_and_suffix(templates):
    """The figures of the Safety section: 8 variants x 5 suffixes, 40 primary and 20 replica templates."""
    assert len(VARIANTS) == 8
    assert sum(1 for _, _, replica in templates if not replica) == 40
    assert sum(1 for _, _, replica in templates if replica) == 20


def test_every_statement_is_well_formed_and_allows_no_wildcard_action(case):
    _, _, _, template = case
    documents = policy_documents(template)
    assert documents
    for title, kind, document in documents:
        assert document["Version"] == POLICY_VERSION, title
        for statement in document["Statement"]:
            assert not {"NotAction", "NotResource", "NotPrincipal"} & set(statement), (title, statement)
            actions = _as_list(statement["Action"])
            if statement["Effect"] == "Allow":
                assert all("*" not in action for action in actions), (title, actions)
            else:  # the only Deny: refuse every S3 action without TLS
                assert (kind, statement["Effect"], actions) == ("bucket", "Deny", ["s3:*"]), (title, statement)


def test_every_bucket_has_a_policy_that_denies_requests_without_tls(case):
    _, _, _, template = case
    buckets = [t for t, r in template["Resources"].items() if r["Type"] == "AWS::S3::Bucket"]
    policies = {r["Properties"]["Bucket"]["Ref"]: r["Properties"]["PolicyDocument"]
                for r in template["Resources"].values() if r["Type"] == "AWS::S3::BucketPolicy"}
    assert buckets and sorted(policies) == sorted(buckets)
    for bucket, document in policies.items():
        arn = {"Fn::GetAtt": [bucket, "Arn"]}
        assert document["Statement"] == [{
            "Sid": "DenyRequestsWithoutTls", "Effect": "Deny", "Principal": "*", "Action": ["s3:*"],
            "Resource": [arn, {"Fn::Sub": ["${Arn}/*", {"Arn": arn}]}],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }]


def test_topic_policy_lets_only_this_stacks_cloudwatch_alarms_publish(case):
    variant, suffix, replica, template = case
    topic_policies = [d for _, kind, d in policy_documents(template) if kind == "topic"]
    if replica:
        assert topic_policies == []
        return
    alarms = sorted(t for t, r in template["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm")
    # exactly the alarms the families asked for
    assert alarms == sorted(spec.title for spec in compose(variant_configs(variant, [suffix])[0]).alarms)
    [document] = topic_policies
    [statement] = document["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"Service": ["cloudwatch.amazonaws.com"]}
    assert statement["Action"] == ["sns:Publish"]
    assert statement["Resource"] == [{"Ref": "AlertTopic"}]
    condition = statement["Condition"]
    assert set(condition) == {"StringEquals", "ArnEquals"}
    assert condition["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    source_arns = condition["ArnEquals"]["aws:SourceArn"]
    assert sorted(arn["Fn::GetAtt"][0] for arn in source_arns) == alarms
    assert all(arn["Fn::GetAtt"][1] == "Arn" for arn in source_arns)


def _role_resources(statement: dict) -> list[str]:
    """The ARN text of each Resource (Fn::Sub strings, nested Subs resolved to their text)."""
    texts = []
    for resource in _as_list(statement["Resource"]):
        if "Fn::GetAtt" in resource:
            texts.append("GetAtt:" + ".".join(resource["Fn::GetAtt"]))
            continue
        sub = resource["Fn::Sub"]
        if isinstance(sub, str):
            texts.append(sub)
        else:
            text, values = sub
            for name, value in values.items():
                inner = value.get("Fn::Sub")
                if inner is not None:
                    text = text.replace("${" + name + "}", inner if isinstance(inner, str) else inner[0])
            texts.append(text)
    return texts


def test_replication_role_is_scoped_to_this_stacks_two_buckets_and_keys(case):
    variant, suffix, replica, template = case
    roles = [(t, kind, d) for t, kind, d in policy_documents(template) if kind in ("trust", "identity")]
    if replica or "+replication" not in variant:
        # the role exists under a Condition in every primary template; the replica has none
        assert ("ReplicationRole" in template["Resources"]) is (not replica)
        if replica:
            return
    trust = [d for _, kind, d in roles if kind == "trust"]
    assert trust == [{"Version": POLICY_VERSION, "Statement": [{
        "Effect": "Allow", "Principal": {"Service": ["s3.amazonaws.com"]}, "Action": ["sts:AssumeRole"],
        "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}}]}]
    source = "arn:${AWS::Partition}:s3:::" + names.data_bucket_name("app", suffix)
    target = "arn:${AWS::Partition}:s3:::" + names.replica_bucket_name("app", suffix, "${Region}")
    allowed_s3 = {source, source + "/*", target + "/*"}
    [identity] = [d for _, kind, d in roles if kind == "identity"]
    for statement in identity["Statement"]:
        assert statement["Effect"] == "Allow"
        resources = _role_resources(statement)
        assert "*" not in resources
        if all(a.startswith("s3:") for a in statement["Action"]):
            assert set(resources) <= allowed_s3, resources
            assert "Condition" not in statement
        else:
            assert "+key" in variant
            assert statement["Action"] in (["kms:Decrypt"], ["kms:Encrypt"])
            via = statement["Condition"]["StringEquals"]
            if statement["Action"] == ["kms:Decrypt"]:  # the source bucket's key, used by S3 only
                assert resources == ["GetAtt:DataKey.Arn"]
                assert via == {"kms:ViaService": {"Fn::Sub": "s3.${AWS::Region}.amazonaws.com"}}
            else:  # the replica stack's key, in the other region: named by its alias
                assert resources == ["arn:${AWS::Partition}:kms:${Region}:${AWS::AccountId}:key/*"]
                assert via["kms:RequestAlias"] == names.key_alias("app", suffix, "replica")
                assert via["kms:ViaService"]["Fn::Sub"][0] == "s3.${Region}.amazonaws.com"


def test_key_policy_grants_only_what_the_stacks_services_need(case):
    variant, _, replica, template = case
    keys = [d for _, kind, d in policy_documents(template) if kind == "key"]
    if "+key" not in variant:
        assert keys == []
        return
    [document] = keys
    services = ["s3"] if replica else ["s3", "dynamodb", "sns"]
    by_sid = {s["Sid"]: s for s in document["Statement"]}
    expected_sids = {"KeyAdministrationByAccount", "UseThroughStackServices"}
    if not replica:
        expected_sids.add("CloudWatchAlarmsPublishToEncryptedTopic")
    assert set(by_sid) == expected_sids and len(document["Statement"]) == len(expected_sids)
    for statement in document["Statement"]:
        assert statement["Effect"] == "Allow" and statement["Resource"] == ["*"]  # "*" = this key
    admin = by_sid["KeyAdministrationByAccount"]
    assert admin["Principal"] == ACCOUNT_ROOT and set(admin["Action"]) <= KMS_ADMIN
    assert not {"kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"} & set(admin["Action"])  # admins cannot read data
    use = by_sid["UseThroughStackServices"]
    assert use["Principal"] == ACCOUNT_ROOT and set(use["Action"]) <= KMS_USE
    assert use["Condition"] == {"StringEquals": {
        "kms:CallerAccount": ACCOUNT,
        "kms:ViaService": [{"Fn::Sub": f"{service}.${{AWS::Region}}.amazonaws.com"} for service in services]}}
    if not replica:
        cloudwatch = by_sid["CloudWatchAlarmsPublishToEncryptedTopic"]
        assert cloudwatch["Principal"] == {"Service": ["cloudwatch.amazonaws.com"]}
        assert set(cloudwatch["Action"]) <= KMS_CLOUDWATCH
        assert cloudwatch["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}


def test_with_a_key_the_topic_bucket_and_table_use_it(case):
    variant, _, replica, template = case
    resources = template["Resources"]
    key = "ReplicaKey" if replica else "DataKey"
    bucket = resources["ReplicaBucket" if replica else "DataBucket"]["Properties"]
    [rule] = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    by_default = rule["ServerSideEncryptionByDefault"]
    if "+key" not in variant:
        assert by_default == {"SSEAlgorithm": "AES256"}
        return
    assert by_default == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": {"Fn::GetAtt": [key, "Arn"]}}
    assert resources[key]["Properties"]["EnableKeyRotation"] is True
    if not replica:
        assert resources["AlertTopic"]["Properties"]["KmsMasterKeyId"] == {"Ref": key}
        assert resources["DataTable"]["Properties"]["SSESpecification"] == {
            "SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": {"Ref": key}}
