"""Stack config: parsed and validated once, at the edge, into frozen typed settings of the right
shape. The one way in for a stack is mldeploy.targets.stack (load_stack, parse_settings): this
layer, then the plan layer's rules."""
from mldeploy.config.base import Secret
from mldeploy.config.errors import ConfigError
from mldeploy.config.load import parse_settings, read_stack_file, stack_file, to_pulumi_config
from mldeploy.config.stack import StackSettings

__all__ = ["ConfigError", "Secret", "StackSettings", "parse_settings",
           "read_stack_file", "stack_file", "to_pulumi_config"]
