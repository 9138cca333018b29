"""The Pulumi program: `pulumi up` runs this file. All the work is in mldeploy.program."""
from mldeploy.program import run_from_pulumi_config

run_from_pulumi_config()
