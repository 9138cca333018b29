"""Azure at deploy time: the HTTP client for the calls mldeploy makes itself (pipeline.py), ARM ids,
the registry token exchange, the AKS kubeconfig login, the IoT Hub REST client and who the deployer
is - the few things that need Azure or its conventions."""
