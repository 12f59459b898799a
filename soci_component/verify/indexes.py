"""Does the image a container runs carry a SOCI index SOCI uses on its node? Through ``images check``'s library
(:mod:`soci_component.images`), read from the registry as SOCI reads it, for the node's platform.

:class:`IndexFacts` is what verify needs of it: usable or not (and why, in ``images check``'s words) and the layers
with a zTOC, whose digests are what SOCI's metrics name when it mounts a layer lazily.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Layer:
    digest: str
    size: int
    ztoc: bool


@dataclass(frozen=True)
class IndexFacts:
    reference: str
    usable: bool | None
    """SOCI loads at least one layer lazily with this node group's settings (None: the registry could not be read)."""
    verdict: str
    """``images check``'s one-line verdict, or why the registry could not be read."""
    layers: tuple[Layer, ...] = field(default=())


IndexLookup = Callable[[str, str, bool], IndexFacts]
"""``(image reference, platform 'linux/amd64', v1 indexes count) -> IndexFacts``."""


def registry_lookup(docker_config: Path | None = None, ca_file: Path | None = None) -> IndexLookup:
    """The lookup ``images check`` does (docker config credentials, ECR tokens through the AWS SDK, anonymous tokens),
    one client per registry, each (reference, platform) read once."""
    from ..images import Auth, Checker, Platform, RegistryError
    from ..images.reference import ReferenceError
    from ..images.verdict import platform_verdict

    checker = Checker(Auth(docker_config=docker_config, ca_file=ca_file))
    seen: dict[tuple[str, str, bool], IndexFacts] = {}

    def lookup(reference: str, platform: str, v1_indexes: bool) -> IndexFacts:
        k = (reference, platform, v1_indexes)
        if k in seen:
            return seen[k]
        want = Platform.parse(platform)
        try:
            report = checker.check(reference, [want])
        except (RegistryError, ReferenceError) as e:
            facts = IndexFacts(reference, None, f"the registry could not be read: {getattr(e, 'message', str(e))}")
        else:
            p = report.for_platform(want)
            if p is None:
                facts = IndexFacts(reference, None, f"the image has no {platform} manifest")
            else:
                facts = IndexFacts(reference, p.lazy(v1_indexes), platform_verdict(p, v1_indexes),
                                   tuple(Layer(layer.digest, layer.size, layer.ztoc is not None) for layer in p.layers))
        seen[k] = facts
        return facts

    return lookup


def no_lookup(reference: str, platform: str, v1_indexes: bool) -> IndexFacts:
    """For ``--no-registry``: nothing is read from registries."""
    return IndexFacts(reference, None, "not checked (--no-registry)")


__all__ = ["IndexFacts", "IndexLookup", "Layer", "no_lookup", "registry_lookup"]
