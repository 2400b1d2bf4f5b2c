"""LocalStack provider plugin ``dynamodb:moto``.

LocalStack's own DynamoDB providers (``dynamodb:default`` / ``dynamodb:v2``)
forward every request to DynamoDB Local, a Java server downloaded at first
use. Where that download is impossible, this provider serves DynamoDB from
the moto backend bundled with LocalStack instead, the same way LocalStack
serves e.g. SES or EC2: an ASF provider whose operations all raise
``NotImplementedError`` (the generated ``DynamodbApi`` base class), wrapped
in ``MotoFallbackDispatcher`` so every operation falls through to moto.

Registered under the ``localstack.aws.provider`` entry point as
``dynamodb:moto``; enable with ``PROVIDER_OVERRIDE_DYNAMODB=moto``.
"""

from localstack.aws.api.dynamodb import DynamodbApi
from localstack.services.plugins import Service, ServiceLifecycleHook, aws_provider


class MotoDynamoDBProvider(DynamodbApi, ServiceLifecycleHook):
    """Implements nothing itself: every operation falls through to moto."""


@aws_provider(api="dynamodb", name="moto")
def dynamodb_moto() -> Service:
    from localstack.services.moto import MotoFallbackDispatcher

    return Service.for_provider(
        MotoDynamoDBProvider(), dispatch_table_factory=MotoFallbackDispatcher
    )
