"""LightGBM's trees as the flat arrays ``retrieval.search.ranker.Ranker`` walks with numpy.

Every node of every tree gets a global number. An internal node keeps its feature, threshold
and children; a leaf keeps its value and points to itself, so walking ``depth`` steps from
the roots lands every row on a leaf of every tree.
"""

from __future__ import annotations

from typing import Any


def flatten(dumped: dict[str, Any]) -> dict[str, Any]:
    """The ``trees`` part of a model file from ``Booster.dump_model()``.

    Only numerical ``<=`` splits without missing-value handling are accepted: the training
    script sets ``use_missing=False`` and passes no categorical features, and a model that
    needs more would be evaluated wrongly.
    """
    feature: list[int] = []
    threshold: list[float] = []
    left: list[int] = []
    right: list[int] = []
    value: list[float] = []
    roots: list[int] = []
    depth = 0

    def add(node: dict[str, Any], level: int) -> int:
        nonlocal depth
        me = len(feature)
        feature.append(-1)
        threshold.append(0.0)
        left.append(me)
        right.append(me)
        value.append(0.0)
        if "leaf_value" in node:
            value[me] = float(node["leaf_value"])
            depth = max(depth, level)
            return me
        if node.get("decision_type", "<=") != "<=" or node.get("missing_type", "None") != "None":
            raise ValueError(
                f"unsupported split in the model: {node.get('decision_type')!r}, "
                f"missing {node.get('missing_type')!r}"
            )
        feature[me] = int(node["split_feature"])
        threshold[me] = float(node["threshold"])
        left[me] = add(node["left_child"], level + 1)
        right[me] = add(node["right_child"], level + 1)
        return me

    for tree in dumped["tree_info"]:
        roots.append(add(tree["tree_structure"], 0))
    return {
        "feature": feature,
        "threshold": threshold,
        "left": left,
        "right": right,
        "value": value,
        "roots": roots,
        "depth": depth,
    }
