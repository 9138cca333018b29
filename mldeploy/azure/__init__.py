"""Azure at deploy time: ARM ids, the registry token exchange, the AKS kubeconfig login, the IoT Hub
REST client and who the deployer is - the few things that need Azure or its conventions."""
