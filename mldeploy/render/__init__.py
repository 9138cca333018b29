"""Pure renderers: one function per generated artifact, no Pulumi, no I/O beyond reading inputs."""
