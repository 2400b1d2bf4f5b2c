"""The `stubs` fixture (stubbed AWS clients behind builder's client factory) for tests/ops."""

from stubbed_aws import stubs  # noqa: F401
