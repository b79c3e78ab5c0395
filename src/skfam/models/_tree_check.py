"""Checks of scikit-learn regression trees loaded from a model file, before any use.

scikit-learn's tree predictor trusts its node arrays: a child index or a feature index out
of range reads outside its buffers (a crash, not an exception) and a cycle never ends.
:func:`check_regression_tree` verifies in Python everything ``predict`` relies on.
Constructing a ``Tree`` from crafted arrays is safe (its ``__setstate__`` checks the
arrays' dtype and shape and clamps ``node_count`` to the node array's length), so the
check runs on the loaded objects, before they predict anything.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.tree import DecisionTreeRegressor
from sklearn.tree._tree import TREE_LEAF, Tree

from ..model_file import ModelFileError

__all__ = ["check_regression_tree"]


def check_regression_tree(tree: Any, n_features: int, where: str) -> None:
    """Raise ``ModelFileError`` unless ``tree`` is a well-formed single-output regression tree.

    Checked: the classes; one output; ``n_features_in_`` and the tree's ``n_features``
    equal ``n_features``; ``node_count`` equals the node array's length; children in
    ``[1, node_count)`` on internal nodes and both ``-1`` on leaves, forming a tree rooted
    at node 0 that reaches every node exactly once; ``max_depth`` equal to its depth;
    features in ``[0, n_features)`` and finite thresholds on internal nodes; values of
    shape ``(node_count, 1, 1)``, all finite.

    Parameters
    ----------
    tree : object
        What the model file holds where a ``DecisionTreeRegressor`` is expected.
    n_features : int
        Columns the tree must take.
    where : str
        Names the tree in the error message (e.g. ``"trees.skops, tree 3"``).

    Raises
    ------
    ModelFileError
        The tree is not what the model file's own writer produces.
    """

    def fail(reason: str) -> ModelFileError:
        return ModelFileError(f"{where}: {reason}; the model file was altered or is corrupt.")

    if type(tree) is not DecisionTreeRegressor:
        raise fail(f"expected a DecisionTreeRegressor, got {type(tree).__name__}")
    if hasattr(tree, "feature_names_in_"):
        raise fail("unexpected feature_names_in_")
    if tree.__dict__.get("n_features_in_") != n_features or tree.__dict__.get("n_outputs_") != 1:
        raise fail(
            f"n_features_in_={tree.__dict__.get('n_features_in_')!r} and "
            f"n_outputs_={tree.__dict__.get('n_outputs_')!r}, expected {n_features} and 1"
        )
    t = tree.__dict__.get("tree_")
    if type(t) is not Tree:
        raise fail(f"tree_ is a {type(t).__name__}, not a Tree")
    if t.n_outputs != 1 or t.max_n_classes != 1 or t.n_features != n_features:
        raise fail(
            f"Tree(n_features={t.n_features}, n_outputs={t.n_outputs}, "
            f"max_n_classes={t.max_n_classes}), expected ({n_features}, 1, 1)"
        )
    count = t.node_count
    if count < 1 or count != t.capacity:
        raise fail(f"node_count {count} does not match the {t.capacity} stored nodes")
    # node_count == capacity: the arrays below are views of exactly the stored nodes.
    left, right = t.children_left, t.children_right
    leaf = left == TREE_LEAF
    if not np.array_equal(leaf, right == TREE_LEAF):
        raise fail("a node has exactly one child")
    internal = ~leaf
    for name, child in (("left", left), ("right", right)):
        bad = internal & ((child < 1) | (child >= count))
        if bad.any():
            node = int(np.flatnonzero(bad)[0])
            raise fail(f"node {node}: {name} child {int(child[node])} is outside [1, {count})")
    feature, threshold = t.feature, t.threshold
    bad = internal & ((feature < 0) | (feature >= n_features) | ~np.isfinite(threshold))
    if bad.any():
        node = int(np.flatnonzero(bad)[0])
        raise fail(
            f"node {node}: feature {int(feature[node])} (of {n_features}) or threshold "
            f"{float(threshold[node])!r} is invalid"
        )
    value = t.value
    if value.shape != (count, 1, 1) or not np.isfinite(value).all():
        raise fail(f"the node values (shape {value.shape}) are not {count} finite numbers")
    # Walk from the root: every node is reached exactly once (no cycle, no shared or
    # orphan node), and the deepest leaf is max_depth down.
    seen = np.zeros(count, dtype=bool)
    seen[0] = True
    level, depth = np.array([0]), 0
    while True:
        parents = level[internal[level]]
        if len(parents) == 0:
            break
        level = np.concatenate([left[parents], right[parents]])
        if seen[level].any() or len(np.unique(level)) != len(level):
            raise fail("a node is reached twice from the root (a cycle or a shared node)")
        seen[level] = True
        depth += 1
    if not seen.all():
        raise fail(f"{int((~seen).sum())} nodes are not reachable from the root")
    if t.max_depth != depth:
        raise fail(f"max_depth {t.max_depth} differs from the tree's depth {depth}")
