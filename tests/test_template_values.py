"""Evaluating a template with a stack's own parameter values, and evaluating it partially so that two
templates' values compare (builder/template_values.py; the Default-only reading is in test_cost.py)."""

from __future__ import annotations

import pytest

from builder.template_values import NO_VALUE, UNKNOWN, DefaultsEvaluator, as_flag, is_intrinsic

TEMPLATE = {
    "Parameters": {"Days": {"Type": "Number", "Default": 30}, "Region": {"Type": "String", "Default": "us-west-2"},
                   "On": {"Type": "String", "Default": "true"}},
    "Conditions": {"IsOn": {"Fn::Equals": [{"Ref": "On"}, "true"]}},
}
PSEUDO = {"AWS::AccountId": "123456789012", "AWS::Partition": "aws"}


def test_values_win_over_defaults_and_undeclared_ones_are_ignored():
    evaluator = DefaultsEvaluator(TEMPLATE, PSEUDO, values={"Days": "14", "On": "false", "Undeclared": "x"})
    assert evaluator.resolve({"Ref": "Days"}) == "14"
    assert evaluator.condition("IsOn") is False
    assert evaluator.resolve({"Ref": "Region"}) == "us-west-2"  # no value given: its Default
    assert evaluator.resolve({"Ref": "Undeclared"}) is UNKNOWN
    assert DefaultsEvaluator(TEMPLATE).resolve({"Ref": "Days"}) == "30"


@pytest.mark.parametrize("node, expected", [
    ({"Ref": "Days"}, "30"),
    ({"Ref": "AWS::AccountId"}, "123456789012"),
    ({"Ref": "DataBucket"}, {"Ref": "DataBucket"}),  # a resource: kept as written, so it compares
    ({"Fn::GetAtt": ["Key", "Arn"]}, {"Fn::GetAtt": ["Key", "Arn"]}),
    ({"Fn::If": ["IsOn", {"A": {"Ref": "Days"}}, {"Ref": "AWS::NoValue"}]}, {"A": "30"}),
    ({"Fn::If": ["Unknown", 1, 2]}, {"Fn::If": ["Unknown", 1, 2]}),
    ({"Fn::Sub": "arn:${AWS::Partition}:s3:::b-${AWS::AccountId}"}, "arn:aws:s3:::b-123456789012"),
    ({"Fn::Sub": ["b-${R}-${Days}", {"R": {"Ref": "Region"}}]}, "b-us-west-2-30"),
    ({"Fn::Sub": "${!Literal}-${Days}"}, "${Literal}-30"),
    ({"Fn::Sub": "${Key.Arn}/${Days}"}, {"Fn::Sub": "${Key.Arn}/${Days}"}),  # an attribute: not known
    ({"Fn::Sub": ["${Days}", {"Days": {"Fn::GetAtt": ["Key", "Arn"]}}]},  # its own variable shadows the parameter
     {"Fn::Sub": ["${Days}", {"Days": {"Fn::GetAtt": ["Key", "Arn"]}}]}),
    ([{"Ref": "AWS::NoValue"}, {"Ref": "Days"}], ["30"]),
    ({"Ref": "AWS::NoValue"}, NO_VALUE),
])
def test_partial_evaluates_what_it_can_and_keeps_the_rest_as_written(node, expected):
    assert DefaultsEvaluator(TEMPLATE, PSEUDO).partial(node) == expected


def test_a_resource_exists_unless_its_condition_is_false():
    evaluator = DefaultsEvaluator(TEMPLATE, values={"On": "false"})
    assert [evaluator.exists(r) for r in ({}, {"Condition": "IsOn"}, {"Condition": "Nowhere"})] == [True, False, True]


@pytest.mark.parametrize("value, expected", [
    (True, True), ("false", False), ("TRUE", True), ("yes", UNKNOWN), ({"Ref": "X"}, UNKNOWN), (1, UNKNOWN)])
def test_as_flag(value, expected):
    assert as_flag(value) is expected


def test_is_intrinsic():
    assert [is_intrinsic(n) for n in ({"Ref": "X"}, {"Fn::If": []}, {"Condition": "C"}, {"Rules": []}, {}, "x",
                                      {"Ref": "X", "Other": 1})] == [True, True, True, False, False, False, False]
