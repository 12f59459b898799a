"""A plain AL2023 node group spec on the default pin, and its plan (helper, not a test module)."""

from __future__ import annotations

from typing import Any

from soci_component import pipeline
from soci_component.render import NodePlan
from soci_component.spec import AmiPin, NodeGroupSpec


def group(**kw: Any) -> NodeGroupSpec:
    """Group ``g``: Kubernetes 1.33, v20260714, m7i.xlarge; ``kw`` sets or adds any other field."""
    return NodeGroupSpec(name="g", kubernetes_version="1.33", ami=AmiPin(release="v20260714"), instance_types=("m7i.xlarge",), **kw)


def planned(spec: NodeGroupSpec) -> NodePlan:
    """The spec through the pipeline's plan step (resolve, rules, plan)."""
    return pipeline.plan_node(spec)
