"""mldeploy: deploy trained ML models to Azure declaratively, with Pulumi.

The flow is one-way (docs/development.md, "Layout"): stack config -> `mldeploy.config` (parse and validate once)
-> pure decisions (`mldeploy.plan.naming`, `mldeploy.render`, ...) -> `components/` (declare)
-> stack outputs.
"""

PROJECT = "mldeploy"
