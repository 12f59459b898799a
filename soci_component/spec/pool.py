"""A Karpenter node pool's inputs: the node spec plus Karpenter's knobs (requirements, limits,
disruption, weight, expiry). Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import SpecError, short
from .enums import Arch, CapacityType, ConsolidationPolicy, RequirementOperator
from .node import NodeSpec
from .values import Checked, check_int, check_label_key, check_label_value, check_match

KARPENTER_OWNED_REQUIREMENTS = {
    "kubernetes.io/arch": "architecture",
    "kubernetes.io/os": "(always linux)",
    "karpenter.sh/capacity-type": "capacityTypes",
    "karpenter.sh/nodepool": "(set by Karpenter)",
}
"""Requirement keys the component writes from typed settings; a user requirement on them is refused, naming the setting."""
KARPENTER_LABEL_DOMAINS = ("karpenter.sh", "karpenter.k8s.aws")
DURATION_RE = re.compile(r"([0-9]+(s|m|h))+|Never")
_BUDGET_RE = re.compile(r"[0-9]+%?")


@dataclass(frozen=True)
class Requirement(Checked):
    """A NodePool requirement (``spec.template.spec.requirements[]``): a node selector term Karpenter launches within."""

    key: str
    """A node label key (``karpenter.k8s.aws/instance-family``)."""
    operator: RequirementOperator
    """How the values apply."""
    values: tuple[str, ...] = ()
    """Values for ``In``/``NotIn``; one integer for ``Gt``/``Lt``; none for ``Exists``/``DoesNotExist``."""

    def _check(self) -> None:
        check_label_key("key", self.key)
        if self.key in KARPENTER_OWNED_REQUIREMENTS:
            raise SpecError("key", f"{self.key} is written by the component from {KARPENTER_OWNED_REQUIREMENTS[self.key]}; set that instead")
        if not isinstance(self.operator, RequirementOperator):
            raise SpecError("operator", f"{short(self.operator)}: expected one of: {', '.join(o.value for o in RequirementOperator)}")
        for i, v in enumerate(self.values):
            check_label_value(f"values[{i}]", v)
        op = self.operator
        if op in (RequirementOperator.IN, RequirementOperator.NOT_IN) and not self.values:
            raise SpecError("values", f"'{op.value}' needs at least one value")
        if op in (RequirementOperator.EXISTS, RequirementOperator.DOES_NOT_EXIST) and self.values:
            raise SpecError("values", f"'{op.value}' takes no values")
        if op in (RequirementOperator.GT, RequirementOperator.LT) and (len(self.values) != 1 or not self.values[0].isdigit()):
            raise SpecError("values", f"'{op.value}' takes exactly one non-negative integer, e.g. ['4']")

    def data(self) -> dict[str, object]:
        out: dict[str, object] = {"key": self.key, "operator": self.operator.value}
        if self.values:
            out["values"] = list(self.values)
        return out


@dataclass(frozen=True)
class PoolLimits(Checked):
    """``spec.limits``: Karpenter stops launching once the pool's nodes reach these totals."""

    cpu: int | None = 1000
    """vCPUs of all the pool's nodes together (None: no limit)."""
    memory_gib: int | None = 4000
    """GiB of memory of all the pool's nodes together (None: no limit)."""

    def _check(self) -> None:
        if self.cpu is not None:
            check_int("cpu", self.cpu, 1, 10**7, "a positive number of vCPUs")
        if self.memory_gib is not None:
            check_int("memoryGiB", self.memory_gib, 1, 10**8, "a positive number of GiB")


@dataclass(frozen=True)
class Disruption(Checked):
    """``spec.disruption`` of the NodePool (Karpenter's defaults, stated)."""

    consolidation_policy: ConsolidationPolicy = ConsolidationPolicy.WHEN_EMPTY_OR_UNDERUTILIZED
    """When Karpenter may consolidate the pool's nodes."""
    consolidate_after: str = "1m"
    """How long a node must be consolidatable first (``30s``, ``1m``, ``Never``)."""
    budgets: tuple[str, ...] = ("10%",)
    """Node budgets: how many nodes (``'5'``) or what share (``'10%'``) may be disrupted at once."""

    def _check(self) -> None:
        if not isinstance(self.consolidation_policy, ConsolidationPolicy):
            raise SpecError("consolidationPolicy", f"{short(self.consolidation_policy)}: expected one of: {', '.join(p.value for p in ConsolidationPolicy)}")
        check_match("consolidateAfter", self.consolidate_after, DURATION_RE, "a duration such as '30s', '1m', '1h30m' or 'Never'")
        for i, b in enumerate(self.budgets):
            check_match(f"budgets[{i}]", b, _BUDGET_RE, "a node count ('5') or a share ('10%')")
            if b.endswith("%") and not 0 <= int(b[:-1]) <= 100:
                raise SpecError(f"budgets[{i}]", f"{b}: a share is 0% to 100%")


@dataclass(frozen=True, kw_only=True)
class NodePoolSpec(NodeSpec):
    """A SOCI Karpenter node pool: an EC2NodeClass and a NodePool from the same node spec as a managed node group."""

    architecture: Arch | None = None
    """CPU architecture of the pool's nodes; unset: the instance types', or x86_64."""
    capacity_types: tuple[CapacityType, ...] = (CapacityType.ON_DEMAND,)
    """``karpenter.sh/capacity-type`` values Karpenter may launch."""
    requirements: tuple[Requirement, ...] = ()
    """More requirements (instance families, sizes, zones ...); the component adds arch, OS, capacity type and the rules' floors."""
    limits: PoolLimits = PoolLimits()
    """The pool's totals Karpenter stops at."""
    disruption: Disruption = Disruption()
    """Karpenter's consolidation and disruption budgets."""
    weight: int | None = None
    """Priority among NodePools (higher first), 1-100."""
    expire_after: str = "720h"
    """Nodes are replaced after this long (``Never`` keeps them)."""

    def _check(self) -> None:
        super()._check()
        if self.architecture is not None and not isinstance(self.architecture, Arch):
            raise SpecError("architecture", f"{short(self.architecture)}: expected one of: {', '.join(a.value for a in Arch)}")
        if not self.capacity_types:
            raise SpecError("capacityTypes", "needs at least one of: ON_DEMAND, SPOT")
        for i, c in enumerate(self.capacity_types):
            if not isinstance(c, CapacityType):
                raise SpecError(f"capacityTypes[{i}]", f"{short(c)}: expected one of: {', '.join(e.value for e in CapacityType)}")
        if len(set(self.capacity_types)) != len(self.capacity_types):
            raise SpecError("capacityTypes", "lists a capacity type twice")
        if self.weight is not None:
            check_int("weight", self.weight, 1, 100)
        check_match("expireAfter", self.expire_after, DURATION_RE, "a duration such as '720h' or 'Never'")

    def _check_label(self, where: str, k: str, v: str) -> None:
        ns = k.split("/", 1)[0] if "/" in k else ""
        if any(ns == d or ns.endswith("." + d) for d in KARPENTER_LABEL_DOMAINS):
            raise SpecError(where, f"labels under {' and '.join(KARPENTER_LABEL_DOMAINS)} belong to Karpenter (it refuses NodePools that set them)")

    @property
    def arch(self) -> Arch:
        if self.architecture is not None:
            return self.architecture
        return super().arch
