"""Benchmarks of rollback-cockpit side by side with the tools an on-call engineer would otherwise use.

Run ``python -m bench`` from the repository root; see bench/README.md.
"""
