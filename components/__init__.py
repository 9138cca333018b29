"""mldeploy's ComponentResources: one per deployment target. They receive validated settings
and Pulumi inputs, declare resources with `parent=self`, and expose typed outputs."""
