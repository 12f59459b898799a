"""Pulumi components: they resolve Outputs and wire resources; every byte comes from ``render``."""
