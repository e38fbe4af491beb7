"""Jobs: dispatch, follow and cancel model method runs and commands (see docs/jobs.md)."""
