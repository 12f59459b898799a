"""soci-eks: EKS node groups whose containerd uses the SOCI snapshotter from first boot."""
