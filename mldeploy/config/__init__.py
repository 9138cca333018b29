"""Stack config: parsed and validated once, at the edge, into frozen typed settings."""
from mldeploy.config.base import Secret
from mldeploy.config.errors import ConfigError
from mldeploy.config.load import load_stack, parse_settings, read_stack_file, stack_file, to_pulumi_config
from mldeploy.config.stack import StackSettings

__all__ = ["ConfigError", "Secret", "StackSettings", "load_stack", "parse_settings",
           "read_stack_file", "stack_file", "to_pulumi_config"]
