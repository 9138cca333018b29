"""mldeploy's Pulumi policy pack. The policies live in `policies.rules` (importable and unit
tested); `policies/__main__.py` only builds the pack, because building it starts a gRPC server."""
