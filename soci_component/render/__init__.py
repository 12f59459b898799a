"""PURE renderers: every byte a SOCI node receives. ``plan(spec, profile)`` then ``render(plan, cluster, secrets)``;
callers go through :mod:`soci_component.pipeline`, which applies the rules first."""

from .plan import NodePlan, plan
from .render import RenderedNode, render
from .report import NodeReport, SociReport
from .types import BlockDevice, ClusterInfo, NodeFile, Secrets, Writer

__all__ = ["BlockDevice", "ClusterInfo", "NodeFile", "NodePlan", "NodeReport", "RenderedNode", "Secrets", "SociReport", "Writer", "plan", "render"]
