"""Offline synth: the real Pulumi program, run in-process under Pulumi's own mocks."""
