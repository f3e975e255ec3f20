"""Microsoft's customUI 2009/07 schema, loadable by libxml2.

As published, some complex types declare the same attribute twice (through
nested attribute groups, or again in a derived type: ``CT_ButtonRegular`` gets ``getEnabled``
from its base type and again via ``AG_Enabled``); libxml2 rejects that. We drop each
redundant reference or re-declaration (a partly redundant group is inlined without the
repeats) — the
schema's meaning is unchanged.
"""

from __future__ import annotations

from copy import deepcopy
from functools import lru_cache
from pathlib import Path

XS = "http://www.w3.org/2001/XMLSchema"
CUSTOMUI_NS = "http://schemas.microsoft.com/office/2009/07/customui"
_CONTAINERS = {f"{{{XS}}}{n}" for n in ("complexType", "attributeGroup", "extension", "restriction")}


def _local(qname: str) -> str:
    return qname.split(":")[-1]


def load_schema(path: Path | str):
    """An ``lxml.etree.XMLSchema`` of the customUI schema at ``path``, with redundant group references dropped."""
    from lxml import etree

    doc = etree.parse(str(path))
    groups = {g.get("name"): g for g in doc.getroot().iterfind(f"{{{XS}}}attributeGroup")}

    @lru_cache(maxsize=None)
    def names(group: str) -> frozenset[str]:
        return frozenset(_attributes(groups[group]))

    def _attributes(node) -> set[str]:
        found: set[str] = set()
        for child in node:
            if child.tag == f"{{{XS}}}attribute" and child.get("name"):
                found.add(child.get("name"))
            elif child.tag == f"{{{XS}}}attributeGroup" and child.get("ref"):
                found |= names(_local(child.get("ref")))
        return found

    types = {t.get("name"): t for t in doc.getroot().iterfind(f"{{{XS}}}complexType")}

    @lru_cache(maxsize=None)
    def inherited(type_name: str) -> frozenset[str]:
        node = types.get(type_name)
        if node is None:
            return frozenset()
        found = _attributes(node)
        for derived in node.iter(f"{{{XS}}}extension", f"{{{XS}}}restriction"):
            found |= _attributes(derived) | inherited(_local(derived.get("base", "")))
        return frozenset(found)

    for container in list(doc.getroot().iter(*_CONTAINERS)):
        seen: set[str] = set()
        if container.tag in (f"{{{XS}}}extension", f"{{{XS}}}restriction"):
            seen |= inherited(_local(container.get("base", "")))
        for child in list(container):
            if child.tag == f"{{{XS}}}attribute" and child.get("name"):
                if child.get("name") in seen and container.tag == f"{{{XS}}}extension":
                    container.remove(child)  # the base type has it already
                seen.add(child.get("name"))
            elif child.tag == f"{{{XS}}}attributeGroup" and child.get("ref"):
                covered = names(_local(child.get("ref")))
                if covered <= seen:
                    container.remove(child)  # redundant: every attribute of the group is here already
                elif covered & seen:  # partly redundant: inline only the attributes not yet here
                    for attr in _declarations(groups[_local(child.get("ref"))]):
                        if attr.get("name") not in seen:
                            child.addprevious(deepcopy(attr))
                    container.remove(child)
                seen |= covered
    return etree.XMLSchema(doc)


def _declarations(group) -> list:
    """The attribute elements a group declares, through nested group references."""
    root = group.getroottree().getroot()
    out = []
    for child in group:
        if child.tag == f"{{{XS}}}attribute":
            out.append(child)
        elif child.tag == f"{{{XS}}}attributeGroup" and child.get("ref"):
            nested = root.find(f"{{{XS}}}attributeGroup[@name='{_local(child.get('ref'))}']")
            out.extend(_declarations(nested))
    return out
