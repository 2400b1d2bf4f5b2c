"""builder: one CloudFormation stack per environment suffix, built with troposphere."""

__version__ = "0.1.0"
