"""The markdown block of `diff --output markdown` and what goes into it, without AWS."""

from __future__ import annotations

from builder.cli.views.review import MARKDOWN_LIMIT, markdown
from builder.cost import stack_items
from builder.ops.review import (
    CHANGES,
    FAILED,
    NEW,
    NO_CHANGES,
    StackReview,
    ValueChange,
    compare_costs,
    value_changes,
)
from builder.pricing import prices_for
from builder.resources import inventory
from builder.stack.changeset import Cause, Change
from builder.synth import stacks_for
from tests.factories import config


def items(*sets: str):
    stack = stacks_for(config(*sets))[0]
    return stack_items(stack, prices_for(stack.region), [])


def test_value_changes_lists_changed_added_and_removed_names_only():
    assert value_changes({"A": "1", "B": "x", "Gone": "g"}, {"A": "1", "B": "y", "New": "n"}) == (
        ValueChange("B", "x", "y"), ValueChange("Gone", "g", None), ValueChange("New", None, "n"))


def test_compare_costs_of_a_capacity_change_and_of_a_new_stack():
    before = items()
    after = items("dynamodb_billing_mode=PROVISIONED", "dynamodb_read_capacity=5", "dynamodb_write_capacity=5")
    cost = compare_costs(before, after)
    assert (round(cost.before, 2), round(cost.after, 2), round(cost.difference, 2)) == (0.40, 3.25, 2.85)
    assert [(r.row, r.before) for r in cost.fixed_rows] == [("DataTable: table RCUs x 730 h", None),
                                                             ("DataTable: table WCUs x 730 h", None)]
    assert {(r.row, r.after) for r in cost.rate_rows} == {("DataTable: on-demand writes", None),
                                                          ("DataTable: on-demand reads", None)}
    new = compare_costs(None, before)
    assert new.before is None and round(new.difference, 2) == 0.40 and new.rate_rows
    assert compare_costs(before, before).fixed_rows == () == compare_costs(before, before).rate_rows


def review(index: int, width: int = 0) -> StackReview:
    changes = tuple(Change("Modify", f"Alarm{n}", "AWS::CloudWatch::Alarm", "False",
                           details=(Cause("ParameterReference", "Properties", "Threshold", "Threshold" + "x" * width),))
                    for n in range(10))
    return StackReview(f"app-pr{index}", "us-east-1", CHANGES, changes,
                       parameters=(ValueChange("Threshold", "5", "10"),),
                       cost=compare_costs(items(), items()))


def test_a_stack_section_has_the_table_the_guard_the_values_and_the_cost():
    table = Change("Modify", "DataTable", "AWS::DynamoDB::Table", "True", "app-pr1-data", ("KeySchema",),
                   (Cause("DirectModification", "Properties", "KeySchema", recreation="Always",
                          before='[{"AttributeName":"pk"}]', after='[{"AttributeName":"id"}]'),))
    loss = table.data_loss(inventory().data_holders)
    assert loss is not None
    text = markdown([StackReview("app-pr1", "us-east-1", CHANGES, (table,), (loss,),
                                 tags=(ValueChange("Team", "a|b", None),), cost=compare_costs(items(), items())),
                     StackReview("app-pr2", "us-east-1", NO_CHANGES),
                     StackReview("app-pr3", "eu-west-1", FAILED, note="AccessDenied")])
    assert text.splitlines()[0] == (
        "**builder diff**: 3 stack(s), 1 with changes; 1 failed; data guard: 1 change(s) would lose data; "
        "monthly fixed cost 0.40 → 0.40 USD (±0.00)")
    assert ('| Modify | DataTable | AWS::DynamoDB::Table | True | KeySchema: [{"AttributeName":"pk"}] → '
            '[{"AttributeName":"id"}] (changed in the template; recreation always) |') in text
    assert ("**Data guard: deploy would refuse** (exit 3) unless `--allow-data-loss`: 1 change(s) would lose data"
            in text)
    assert ("| DataTable | AWS::DynamoDB::Table | replaced because KeySchema changed (Replacement=True) | a new, "
            "empty one takes its place; deleting the old one (app-pr1-data) loses its items |") in text
    assert "| Team | a\\|b | (none) |" in text  # a pipe in a value does not break the table
    assert "\n### `app-pr2` (us-east-1): no changes\n" in text
    assert "\n### `app-pr3` (eu-west-1): failed: AccessDenied\n" in text


def test_a_new_stack_shows_its_full_cost():
    text = markdown([StackReview("app-pr1", "us-east-1", NEW, (Change("Add", "DataTable", "AWS::DynamoDB::Table"),),
                                 cost=compare_costs(None, items()))])
    assert "### `app-pr1` (us-east-1): new stack, 1 change(s)" in text
    assert "| fixed, while idle | - | 0.40 | +0.40 |" in text


def test_a_block_under_the_limit_is_whole():
    reviews = [review(n, width=20) for n in range(10)]
    assert markdown(reviews) == markdown(reviews, limit=10**9)


def test_the_block_is_cut_at_a_stack_boundary_with_a_line_that_counts_the_rest():
    count = 400  # about 586,000 characters whole
    reviews = [review(n, width=20) for n in range(count)]
    whole = markdown(reviews, limit=10**9)
    text = markdown(reviews)
    assert MARKDOWN_LIMIT - 2000 < len(text) <= MARKDOWN_LIMIT
    shown = text.count("\n### `app-pr")
    assert 0 < shown < count
    assert text.endswith(f"\n_{count - shown} more stack(s) left out to fit GitHub's size limit; run `diff --output "
                         f"markdown` to see all._\n")
    assert text.startswith(whole[:len(text) - 200])  # whole sections, in order, before the cut line
    assert f"### `app-pr{shown - 1}`" in text and f"### `app-pr{shown}`" not in text
    assert text.splitlines()[0] == whole.splitlines()[0]  # the summary covers every stack


def test_the_cut_keeps_the_last_stack_when_it_fits_without_the_cut_line():
    reviews = [review(n) for n in range(3)]
    whole = markdown(reviews, limit=10**9)
    assert markdown(reviews, limit=len(whole)) == whole
    cut = markdown(reviews, limit=len(whole) - 1)
    assert cut.endswith("_1 more stack(s) left out to fit GitHub's size limit; run `diff --output markdown` to see "
                        "all._\n")


def test_a_change_of_the_stack_tags_alone_is_a_section_of_its_own_not_zero_changes():
    tags_only = StackReview("app-pr1", "us-east-1", CHANGES, tags=(ValueChange("builder:ttl", "7d", "14d"),),
                            cost=compare_costs(items(), items()))
    block = markdown([tags_only])
    assert "1 stack(s), 1 with changes" in block
    section = block[block.index("### `app-pr1`"):]
    assert section.splitlines()[0] == ("### `app-pr1` (us-east-1): only the stack tags change (deploy updates "
                                       "them with the deployed template)")
    assert "| builder:ttl | 7d | 14d |" in section
    assert "0 change(s)" not in section and "| Action |" not in section


MODE = ValueChange("deployment mode", "standard", "express")


def test_a_change_of_the_deployment_mode_alone_shows_under_no_changes():
    block = markdown([StackReview("app-pr1", "us-east-1", NO_CHANGES, settings=(MODE,))])
    assert "1 stack(s), 0 with changes" in block
    section = block[block.index("### `app-pr1`"):]
    assert section.splitlines()[0] == "### `app-pr1` (us-east-1): no changes"
    assert "| Stack setting | Old | New |" in section and "| deployment mode | standard | express |" in section


def test_stack_settings_go_with_the_resource_changes_and_with_a_tags_only_change():
    change = Change("Modify", "DataBucket", "AWS::S3::Bucket", "False")
    for review in (StackReview("app-pr1", "us-east-1", CHANGES, (change,), settings=(MODE,)),
                   StackReview("app-pr1", "us-east-1", CHANGES, tags=(ValueChange("builder:ttl", "7d", "14d"),),
                               settings=(MODE,))):
        assert "| deployment mode | standard | express |" in markdown([review])
