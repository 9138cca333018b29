"""`python -m mldeploy` is the `mldeploy` command."""
from mldeploy.cli import main

main()
