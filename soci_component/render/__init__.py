"""PURE renderers: every byte a SOCI node receives. ``plan(spec, profile)`` then ``render(plan, cluster, secrets)``."""

from .plan import BlockDevice, NodeFile, NodePlan, Writer, plan
from .render import RenderedNode, render

__all__ = ["BlockDevice", "NodeFile", "NodePlan", "RenderedNode", "Writer", "plan", "render"]
