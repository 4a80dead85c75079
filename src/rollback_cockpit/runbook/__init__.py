"""The runbook's own model: environment file, checklists, journal, report, clock."""
