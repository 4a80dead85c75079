"""The one place that talks to AWS: async clients and readable errors."""
