"""builder: one CloudFormation stack per environment suffix, built with troposphere."""

__version__ = "0.1.0"

# Before any module of the package can import troposphere: keeps cfn_flip and PyYAML out of JSON synth.
from builder import deferred_imports  # noqa: F401 - imported for its effect, after __version__
