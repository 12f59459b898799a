"""EKS node AMI releases: the catalogue (data synced from upstream), and resolution to a NodeProfile.

Pure: no Pulumi, no AWS calls. The Pulumi layer reads ``NodeProfile.ssm_parameter`` with
``aws.ssm.get_parameter``; rules about what may run where are in :mod:`soci_component.rules`.
"""

from .catalogue import AMI_TYPES, Build, Catalogue, CatalogueError, Release, SizeFloor, catalogue, load
from .profile import NodeProfile
from .resolve import ami_type, normalise, resolve, ssm_parameter

__all__ = [
    "AMI_TYPES",
    "Build",
    "Catalogue",
    "CatalogueError",
    "NodeProfile",
    "Release",
    "SizeFloor",
    "ami_type",
    "catalogue",
    "load",
    "normalise",
    "resolve",
    "ssm_parameter",
]
