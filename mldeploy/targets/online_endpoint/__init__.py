"""Azure ML v2 online endpoints, what the two targets `managed` (mldeploy/targets/managed/) and
`kubernetes-endpoint` (mldeploy/targets/kubernetes_endpoint/) share: the deployments' settings,
the rules of one endpoint, its plan, the program step, synth's mocks and the serve and logs hooks.
Not a target of its own: each of the two builds its row of the table from these."""
