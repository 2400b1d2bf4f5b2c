"""A template body as a dict: what GetTemplate answers for a deployed stack (JSON decoded by boto3, or YAML
text for a stack deployed by hand), and a synthesized stack's own body."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from builder.errors import OperationError


def template_from_body(body: Mapping[str, Any] | str, stack_name: str) -> dict[str, Any]:
    """GetTemplate's TemplateBody as a dict: boto3 already decodes JSON; YAML comes as text."""
    if isinstance(body, Mapping):
        return dict(body)
    try:
        loaded = json.loads(body)
    except ValueError:
        import yaml  # only for a YAML template (deployed by hand): a slow import
        from cfn_flip import load_yaml

        try:
            loaded = load_yaml(body)
        except yaml.YAMLError as error:
            raise OperationError(stack_name, f"the deployed template is neither JSON nor YAML: {error}") from None
    if not isinstance(loaded, dict):
        raise OperationError(stack_name, f"the deployed template is not a mapping (got {type(loaded).__name__})")
    return loaded
