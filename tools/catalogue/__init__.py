"""The AMI catalogue's sync from upstream and its manual ``add``: maintainers' tooling, not in the wheel.

Run from a checkout: ``python -m tools.catalogue sync ...`` / ``python -m tools.catalogue add ...``. Both
write ``soci_component/ami/releases.json`` of this checkout (never an installed package); the package
only loads that file (``soci_component.ami.catalogue``).

- ``changelog``: the amazon-eks-ami CHANGELOG's AMI tables (containerd per Kubernetes version and AMI type);
- ``eks_ami_source``: nodeadm's facts at each release tag of an amazon-eks-ami clone;
- ``bottlerocket_git`` / ``bottlerocket_source``: Bottlerocket rows from its and its core kit's tags, or
  from the project website's package lists;
- ``sync``: the rows, merged with what is already catalogued, and the file's text.
"""
