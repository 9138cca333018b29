"""The scoring runtime: gateway config, scoring environment, local processes."""
