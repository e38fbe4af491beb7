"""Shared agent context: short-lived JSON values in named scopes, with TTLs and compare-and-set."""
