"""One module per deployment target. Each registers its deployer with `mldeploy.program`:
`@register_target("aci")` for HTTP services, `@register_section("batch")` for other sections."""
