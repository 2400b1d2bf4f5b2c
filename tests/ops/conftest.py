"""The `stubs` fixture (stubbed AWS clients behind builder's client factory) for tests/ops."""

from tests.factories import stubs  # noqa: F401
