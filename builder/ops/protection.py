"""Termination protection as the `termination_protection` setting says: deploy makes the stack match it.

CloudFormation takes termination protection only on CreateStack or UpdateTerminationProtection, never
through a change set, so deploy sets it after the change set has run (or when nothing changed and the
stack's protection differs). One call when it differs, none when it matches.
"""

from __future__ import annotations

from builder.stack.deployed import DeployedStack
from builder.stack.watch import StackWatcher


def match_termination_protection(watcher: StackWatcher, stack: DeployedStack, wanted: bool) -> bool:
    """Turn the stack's termination protection on or off to match `wanted`; True when it changed it."""
    if stack.termination_protection == wanted:
        return False
    watcher.cf.update_termination_protection(EnableTerminationProtection=wanted, StackName=stack.stack_id)
    watcher.say("termination protection set", on=wanted)
    return True
