"""rollback-cockpit: a terminal cockpit for rolling back an AWS-hosted service."""

__version__ = "0.1.0"
