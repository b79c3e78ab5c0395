"""Structure checks of the boosters stored in model files, before a native parser sees them.

LightGBM's model-text parser and XGBoost's predictor trust what they read: one token too
many in a LightGBM ``split_feature`` line aborts the process, a child index out of range in
an XGBoost tree makes ``predict`` read outside its arrays. A model file's checksums prove
only that nobody altered it *without recomputing them*, so every booster read from a model
file is checked here, in Python, first: the header against the estimator (features, classes,
objective), every tree's array lengths, that its child indices form one tree rooted at node 0
(each node reached once: no cycle, nothing out of range), its feature indices, that numbers
parse as numbers, categorical fields, and the tree count against the header. The checks
accept exactly what LightGBM 4 / XGBoost 3 write for skfam's estimators; anything else is a
:class:`~skfam.model_file.ModelFileError` that says what is wrong and where.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Sequence
from typing import Any

from .model_file import ModelFileError

__all__ = ["check_lightgbm_text", "check_xgboost_json"]

_FLOAT = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
# str.translate tables that delete the characters of numbers: what is left is not one.
_INT_CHARS = str.maketrans("", "", "0123456789- ")
_FLOAT_CHARS = str.maketrans("", "", "0123456789-+.eE ")
_INT32 = (-(2**31), 2**31 - 1)
_UINT32 = (0, 2**32 - 1)
#: LightGBM's largest num_leaves.
_LGB_MAX_LEAVES = 131072
#: XGBoost's tree_param stores a root's missing parent as this value.
_XGB_NO_PARENT = 2147483647
#: Largest category an XGBoost categorical split may name (categories are exact in float32
#: below 2**24; a larger one would make the predictor allocate a huge bit field).
_XGB_MAX_CATEGORY = 2**24


def _error(where: str, message: str) -> ModelFileError:
    return ModelFileError(f"{where}: {message}")


# ---------------------------------------------------------------------- LightGBM
# Keys of the model text's header (before the first "Tree=") and of a tree block, as
# LightGBM 4 writes them; ``_LGB_TREE_KEYS`` are required, the categorical ones optional.
_LGB_HEADER_REQUIRED = (
    "version",
    "num_class",
    "num_tree_per_iteration",
    "label_index",
    "max_feature_idx",
    "objective",
    "feature_names",
    "feature_infos",
    "tree_sizes",
)
_LGB_TREE_KEYS = (
    "num_leaves",
    "num_cat",
    "split_feature",
    "split_gain",
    "threshold",
    "decision_type",
    "left_child",
    "right_child",
    "leaf_value",
    "leaf_weight",
    "leaf_count",
    "internal_value",
    "internal_weight",
    "internal_count",
    "is_linear",
    "shrinkage",
)
_LGB_CAT_KEYS = ("cat_boundaries", "cat_threshold")
# Per-node arrays (num_leaves - 1 values) and per-leaf arrays (num_leaves values).
_LGB_NODE_INTS = ("split_feature", "decision_type", "left_child", "right_child", "internal_count")
_LGB_NODE_FLOATS = ("split_gain", "threshold", "internal_value", "internal_weight")
_LGB_LEAF_FLOATS = ("leaf_value", "leaf_weight")
_LGB_LEAF_INTS = ("leaf_count",)
# decision_type bits: 1 categorical, 2 default left, 4..12 missing type (0 none, 1 zero, 2 NaN).
_LGB_CATEGORICAL = 1
_LGB_PARAM_LINE = re.compile(r"\[[A-Za-z0-9_]+: [^\[\]]*\]")
_LGB_IMPORTANCE_LINE = re.compile(r"[A-Za-z0-9_]+=[0-9]+")


def _numbers(text: str, where: str, convert: type, leftover: str) -> list:
    """Parse a line of space-separated numbers, refused unless ``leftover`` is empty.

    ``leftover`` is ``text`` with the characters of numbers deleted. The character check
    keeps out what Python's parsers accept and LightGBM's do not ("nan", "1_000", spaces,
    signs in odd places are then refused by ``convert``).
    """
    if not text:
        return []
    if leftover:
        raise _error(where, f"{text[:40]!r} holds something that is not a number.")
    try:
        return list(map(convert, text.split(" ")))
    except ValueError:
        raise _error(where, f"{text[:40]!r} holds something that is not a number.") from None


def _ints(text: str, where: str, bounds: tuple[int, int] = _INT32) -> list[int]:
    values = _numbers(text, where, int, text.translate(_INT_CHARS))
    if values and not (bounds[0] <= min(values) and max(values) <= bounds[1]):
        bad = next(v for v in values if not bounds[0] <= v <= bounds[1])
        raise _error(where, f"{bad} is out of range.")
    return values


def _floats(text: str, where: str, infinite: bool = False) -> list[float]:
    """Parse finite numbers; ``infinite`` admits "inf" and "-inf" (thresholds of NaN splits)."""
    values = _numbers(text, where, float, text.replace("inf", "").translate(_FLOAT_CHARS))
    if values and not infinite and not (-math.inf < min(values) and max(values) < math.inf):
        raise _error(where, "holds a number that is not finite.")
    return values


def _one_int(fields: dict[str, str], key: str, where: str) -> int:
    values = _ints(fields[key], f"{where} {key}")
    if len(values) != 1:
        raise _error(where, f"{key} must be one integer, got {fields[key][:40]!r}.")
    return values[0]


def _key_values(lines: Sequence[str], where: str, allowed: Sequence[str]) -> dict[str, str]:
    """Return the ``key=value`` lines as a dict; unknown, repeated or malformed keys fail."""
    fields: dict[str, str] = {}
    for line in lines:
        key, sep, value = line.partition("=")
        if not sep or key not in allowed:
            raise _error(where, f"unexpected line {line[:60]!r}.")
        if key in fields:
            raise _error(where, f"{key} appears twice.")
        fields[key] = value
    return fields


def _check_tree_shape(
    left: Sequence[int], right: Sequence[int], n_leaves: int, where: str
) -> None:
    """Check that LightGBM's child arrays form one tree rooted at node 0.

    A child ``c >= 0`` is internal node ``c``; ``c < 0`` is leaf ``~c``. Every internal node
    and every leaf must be reached exactly once from the root.
    """
    n_internal = n_leaves - 1
    seen_nodes = [False] * n_internal
    seen_leaves = [False] * n_leaves
    seen_nodes[0] = True
    stack = [0]
    while stack:
        node = stack.pop()
        for child in (left[node], right[node]):
            if child >= 0:
                if child >= n_internal:
                    raise _error(where, f"node {node} has child {child}, not a node index.")
                if seen_nodes[child]:
                    raise _error(where, f"node {child} is reached twice (a cycle or a DAG).")
                seen_nodes[child] = True
                stack.append(child)
            else:
                leaf = ~child
                if leaf >= n_leaves:
                    raise _error(where, f"node {node} has child {child}, not a leaf index.")
                if seen_leaves[leaf]:
                    raise _error(where, f"leaf {leaf} is reached twice.")
                seen_leaves[leaf] = True
    if not all(seen_nodes) or not all(seen_leaves):
        raise _error(where, "some nodes or leaves are not reachable from the root.")


def _check_lightgbm_tree(lines: Sequence[str], n_features: int, where: str) -> None:
    fields = _key_values(lines, where, _LGB_TREE_KEYS + _LGB_CAT_KEYS)
    missing = [k for k in _LGB_TREE_KEYS if k not in fields]
    if missing:
        raise _error(where, f"missing {missing}.")
    n_leaves = _one_int(fields, "num_leaves", where)
    if not 1 <= n_leaves <= _LGB_MAX_LEAVES:
        raise _error(where, f"num_leaves={n_leaves} is out of range.")
    n_cat = _one_int(fields, "num_cat", where)
    if fields["is_linear"] != "0":
        raise _error(where, "linear trees are not supported (skfam never writes them).")
    if len(_floats(fields["shrinkage"], f"{where} shrinkage")) != 1:
        raise _error(where, "shrinkage must be one number.")
    arrays: dict[str, list] = {}
    for key in _LGB_NODE_INTS + _LGB_LEAF_INTS:
        arrays[key] = _ints(fields[key], f"{where} {key}")
    for key in _LGB_NODE_FLOATS + _LGB_LEAF_FLOATS:
        arrays[key] = _floats(fields[key], f"{where} {key}", infinite=key == "threshold")
    if len(arrays["leaf_value"]) != n_leaves:
        raise _error(
            where, f"leaf_value has {len(arrays['leaf_value'])} values, num_leaves={n_leaves}."
        )
    if n_leaves == 1:
        # LightGBM reads only leaf_value of a one-leaf tree; the node arrays must be empty.
        if any(arrays[k] for k in _LGB_NODE_INTS + _LGB_NODE_FLOATS) or n_cat != 0:
            raise _error(where, "a one-leaf tree has node arrays.")
        if any(len(arrays[k]) > 1 for k in _LGB_LEAF_INTS + _LGB_LEAF_FLOATS):
            raise _error(where, "a one-leaf tree has more than one leaf value.")
        return
    for key in _LGB_NODE_INTS + _LGB_NODE_FLOATS:
        if len(arrays[key]) != n_leaves - 1:
            raise _error(
                where,
                f"{key} has {len(arrays[key])} values, expected {n_leaves - 1} "
                f"(num_leaves={n_leaves}).",
            )
    for key in _LGB_LEAF_INTS + _LGB_LEAF_FLOATS:
        if len(arrays[key]) != n_leaves:
            raise _error(
                where, f"{key} has {len(arrays[key])} values, expected num_leaves={n_leaves}."
            )
    bad = [f for f in arrays["split_feature"] if not 0 <= f < n_features]
    if bad:
        raise _error(where, f"split_feature {bad[0]} is not a feature index (< {n_features}).")
    for value in arrays["decision_type"]:
        if not 0 <= value <= 11 or (value >> 2) == 3:
            raise _error(where, f"decision_type {value} is not a valid decision type.")
    _check_tree_shape(arrays["left_child"], arrays["right_child"], n_leaves, where)
    _check_lightgbm_categories(fields, arrays, n_cat, where)


def _check_lightgbm_categories(
    fields: dict[str, str], arrays: dict[str, list], n_cat: int, where: str
) -> None:
    """Check num_cat, cat_boundaries and cat_threshold against the categorical splits."""
    categorical = [i for i, t in enumerate(arrays["decision_type"]) if t & _LGB_CATEGORICAL]
    if n_cat == 0:
        if categorical or any(k in fields for k in _LGB_CAT_KEYS):
            raise _error(where, "categorical fields or splits with num_cat=0.")
        return
    if n_cat < 0 or any(k not in fields for k in _LGB_CAT_KEYS):
        raise _error(where, f"num_cat={n_cat} without cat_boundaries and cat_threshold.")
    bounds = _ints(fields["cat_boundaries"], f"{where} cat_boundaries")
    cats = _ints(fields["cat_threshold"], f"{where} cat_threshold", _UINT32)
    if (
        len(bounds) != n_cat + 1
        or bounds[0] != 0
        or any(nxt < prev for prev, nxt in itertools.pairwise(bounds))
        or bounds[-1] != len(cats)
    ):
        raise _error(where, f"cat_boundaries do not delimit cat_threshold (num_cat={n_cat}).")
    for node in categorical:
        index = arrays["threshold"][node]
        if index != int(index) or not 0 <= index < n_cat:
            raise _error(where, f"categorical node {node} names category set {index}.")


def check_lightgbm_text(
    text: str,
    *,
    n_features: int,
    n_classes: int,
    objective: str,
    where: str = "booster.txt",
) -> int:
    """Check a LightGBM model text against what skfam's estimator wrote.

    Parameters
    ----------
    text : str
        The model text (``Booster.model_to_string``).
    n_features : int
        The estimator's ``n_features_in_``.
    n_classes : int
        Trees per iteration: 1 for regression and binary classification, else the classes.
    objective : str
        The exact objective line LightGBM writes for the estimator (e.g. "regression").
    where : str, default="booster.txt"
        The member's name, for messages.

    Returns
    -------
    n_iterations : int
        Boosting iterations in the text.

    Raises
    ------
    ModelFileError
        Anything a native parser could choke on, or that does not fit the estimator.
    """
    if not text.isascii() or "\x00" in text or "\r" in text:
        raise _error(where, "the model text holds characters LightGBM never writes.")
    lines = text.split("\n")
    if lines[0] != "tree":
        raise _error(where, "not a LightGBM model text.")
    try:
        first_tree = next(i for i, line in enumerate(lines) if line.startswith("Tree="))
        end = lines.index("end of trees")
    except (StopIteration, ValueError):
        raise _error(where, "no trees, or no 'end of trees' line.") from None
    header = _key_values(
        [line for line in lines[1:first_tree] if line],
        f"{where} header",
        _LGB_HEADER_REQUIRED,
    )
    missing = [k for k in _LGB_HEADER_REQUIRED if k not in header]
    if missing:
        raise _error(where, f"header lacks {missing}.")
    if header["version"] != "v4":
        raise _error(where, f"model text version {header['version'][:20]!r}, expected 'v4'.")
    expected = {
        "num_class": n_classes,
        "num_tree_per_iteration": n_classes,
        "label_index": 0,
        "max_feature_idx": n_features - 1,
    }
    for key, value in expected.items():
        if _one_int(header, key, f"{where} header") != value:
            raise _error(where, f"{key}={header[key][:20]} where the estimator needs {value}.")
    if header["objective"] != objective:
        raise _error(where, f"objective {header['objective'][:60]!r}, expected {objective!r}.")
    for key in ("feature_names", "feature_infos"):
        if len(header[key].split(" ")) != n_features:
            raise _error(where, f"{key} does not list {n_features} features.")
    sizes = _ints(header["tree_sizes"], f"{where} tree_sizes", (0, len(text)))
    starts = [i for i in range(first_tree, end) if lines[i].startswith("Tree=")]
    if not starts:
        raise _error(where, "the model text holds no trees.")
    if len(sizes) != len(starts):
        raise _error(where, f"tree_sizes lists {len(sizes)} trees, the text has {len(starts)}.")
    if len(starts) % n_classes:
        raise _error(where, f"{len(starts)} trees is not a multiple of {n_classes} per round.")
    # Byte offsets (the text is ASCII) of each "Tree=" line: LightGBM jumps by tree_sizes.
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    for index, (start, size) in enumerate(zip(starts, sizes, strict=True)):
        stop = starts[index + 1] if index + 1 < len(starts) else end
        where_tree = f"{where} tree {index}"
        if lines[start] != f"Tree={index}":
            raise _error(where_tree, f"expected 'Tree={index}', got {lines[start][:30]!r}.")
        if offsets[stop] - offsets[start] != size:
            raise _error(where_tree, "tree_sizes does not match the tree's length.")
        body = lines[start + 1 : stop]
        while body and not body[-1]:
            body.pop()
        _check_lightgbm_tree(body, n_features, where_tree)
    _check_lightgbm_tail(lines[end + 1 :], where)
    return len(starts) // n_classes


def _check_lightgbm_tail(lines: Sequence[str], where: str) -> None:
    """Check what follows 'end of trees': importances, parameters, pandas_categorical."""
    section = "start"
    for line in lines:
        if not line:
            continue
        if section == "start" and line == "feature_importances:":
            section = "importances"
        elif section == "importances" and _LGB_IMPORTANCE_LINE.fullmatch(line):
            continue
        elif section in ("start", "importances") and line == "parameters:":
            section = "parameters"
        elif section == "parameters" and _LGB_PARAM_LINE.fullmatch(line):
            continue
        elif section == "parameters" and line == "end of parameters":
            section = "end"
        elif section == "end" and line == "pandas_categorical:null":
            section = "done"
        else:
            raise _error(where, f"unexpected line after the trees: {line[:60]!r}.")
    if section != "done":
        raise _error(where, "the model text ends early (no parameters or pandas_categorical).")


# ---------------------------------------------------------------------- XGBoost
_XGB_TREE_ARRAYS = (
    "left_children",
    "right_children",
    "parents",
    "split_indices",
    "split_conditions",
    "default_left",
    "split_type",
    "base_weights",
    "loss_changes",
    "sum_hessian",
)
_XGB_TREE_KEYS = frozenset(
    (
        *_XGB_TREE_ARRAYS,
        "categories",
        "categories_nodes",
        "categories_segments",
        "categories_sizes",
        "id",
        "tree_param",
    )
)
_XGB_INT_ARRAYS = ("left_children", "right_children", "parents", "split_indices")
_XGB_FLAG_ARRAYS = ("default_left", "split_type")
_XGB_FLOAT_ARRAYS = ("split_conditions", "base_weights", "loss_changes", "sum_hessian")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """JSON object hook: refuse a repeated key (parsers may keep different copies)."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"key {key!r} appears twice in one object")
        result[key] = value
    return result


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _get(obj: Any, key: str, where: str, kind: type | tuple[type, ...]) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise _error(where, f"missing {key!r}.")
    value = obj[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise _error(where, f"{key!r} has the wrong type.")
    return value


def _count(obj: dict, key: str, where: str) -> int:
    """Read a count XGBoost stores as a decimal string."""
    value = _get(obj, key, where, str)
    if not re.fullmatch(r"[0-9]{1,9}", value):
        raise _error(where, f"{key}={value[:20]!r} is not a count.")
    return int(value)


def _int_list(obj: dict, key: str, where: str, low: int, high: int) -> list[int]:
    values = _get(obj, key, where, list)
    for v in values:
        if type(v) is not int or not low <= v <= high:
            raise _error(where, f"{key} holds {str(v)[:20]}, not an integer in [{low}, {high}].")
    return values


def _float_list(obj: dict, key: str, where: str) -> list[float]:
    values = _get(obj, key, where, list)
    for v in values:
        if type(v) not in (int, float) or not math.isfinite(v):
            raise _error(where, f"{key} holds {str(v)[:20]}, not a finite number.")
    return values


def _check_xgboost_tree(tree: Any, index: int, n_features: int, where: str) -> None:
    if not isinstance(tree, dict):
        raise _error(where, "not an object.")
    unknown = set(tree) - _XGB_TREE_KEYS
    if unknown:
        raise _error(where, f"unexpected keys {sorted(unknown)}.")
    if _get(tree, "id", where, int) != index:
        raise _error(where, f"id {tree['id']} where {index} is expected.")
    param = _get(tree, "tree_param", where, dict)
    n_nodes = _count(param, "num_nodes", where)
    if n_nodes < 1:
        raise _error(where, "num_nodes is 0.")
    if _count(param, "num_deleted", where) != 0:
        raise _error(where, "deleted nodes (skfam never writes them).")
    if _count(param, "num_feature", where) != n_features:
        raise _error(where, f"num_feature is not the estimator's {n_features}.")
    if _count(param, "size_leaf_vector", where) != 1:
        raise _error(where, "vector leaves (skfam never writes them).")
    big = 2**31 - 1
    arrays = {key: _int_list(tree, key, where, -1, big) for key in _XGB_INT_ARRAYS}
    arrays.update({key: _int_list(tree, key, where, 0, 1) for key in _XGB_FLAG_ARRAYS})
    arrays.update({key: _float_list(tree, key, where) for key in _XGB_FLOAT_ARRAYS})
    for key in _XGB_TREE_ARRAYS:
        if len(arrays[key]) != n_nodes:
            raise _error(where, f"{key} has {len(arrays[key])} values, num_nodes={n_nodes}.")
    left, right, parents = arrays["left_children"], arrays["right_children"], arrays["parents"]
    if parents[0] != _XGB_NO_PARENT:
        raise _error(where, "the root has a parent.")
    seen = [False] * n_nodes
    seen[0] = True
    stack = [0]
    while stack:
        node = stack.pop()
        if left[node] == -1:
            if right[node] != -1:
                raise _error(where, f"leaf {node} has a right child.")
            continue
        if not 0 <= arrays["split_indices"][node] < n_features:
            raise _error(where, f"node {node} splits on feature {arrays['split_indices'][node]}.")
        for child in (left[node], right[node]):
            if not 0 < child < n_nodes:
                raise _error(where, f"node {node} has child {child}, not a node index.")
            if seen[child]:
                raise _error(where, f"node {child} is reached twice (a cycle or a DAG).")
            if parents[child] != node:
                raise _error(where, f"node {child}'s parent is not {node}.")
            seen[child] = True
            stack.append(child)
    if not all(seen):
        raise _error(where, "some nodes are not reachable from the root.")
    _check_xgboost_categories(tree, arrays, n_nodes, where)


def _check_xgboost_categories(tree: dict, arrays: dict, n_nodes: int, where: str) -> None:
    """Check the categorical split arrays against split_type."""
    categorical = [i for i, t in enumerate(arrays["split_type"]) if t == 1]
    if any(arrays["left_children"][i] == -1 for i in categorical):
        raise _error(where, "a leaf is marked as a categorical split.")
    nodes = _int_list(tree, "categories_nodes", where, 0, n_nodes - 1)
    segments = _int_list(tree, "categories_segments", where, 0, 2**31 - 1)
    sizes = _int_list(tree, "categories_sizes", where, 0, 2**31 - 1)
    categories = _int_list(tree, "categories", where, 0, _XGB_MAX_CATEGORY)
    if nodes != categorical or len(segments) != len(nodes) or len(sizes) != len(nodes):
        raise _error(where, "categories_nodes do not match the categorical splits.")
    for start, size in zip(segments, sizes, strict=True):
        if start + size > len(categories):
            raise _error(where, "a category segment runs past the categories.")


def check_xgboost_json(
    data: bytes,
    *,
    n_features: int,
    n_classes: int | None,
    objective: str,
    where: str = "booster.json",
) -> int:
    """Check an XGBoost booster saved as JSON against what skfam's estimator wrote.

    Parameters
    ----------
    data : bytes
        The booster (``Booster.save_raw("json")``).
    n_features : int
        The estimator's ``n_features_in_``.
    n_classes : int or None
        Classes of a multiclass classifier (one tree per class and round), else None.
    objective : str
        XGBoost's objective name for the estimator (e.g. "reg:squarederror").
    where : str, default="booster.json"
        The member's name, for messages.

    Returns
    -------
    n_rounds : int
        Boosting rounds in the booster.

    Raises
    ------
    ModelFileError
        Anything XGBoost's loader or predictor could choke on, or that does not fit the
        estimator.
    """
    try:
        model = json.loads(
            data.decode("utf-8"),
            object_pairs_hook=_no_duplicates,
            parse_constant=_refuse_constant,
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _error(where, f"not a valid booster JSON ({exc}).") from exc
    if not isinstance(model, dict) or set(model) != {"learner", "version"}:
        raise _error(where, "not an XGBoost booster JSON.")
    version = _int_list(model, "version", where, 0, 10**6)
    if len(version) != 3 or version[0] < 2:
        # Older formats take other (legacy) paths in XGBoost's loader.
        raise _error(where, f"written by XGBoost {version}, skfam reads 2.0 or later.")
    learner = _get(model, "learner", where, dict)
    expected = {
        "attributes",
        "feature_names",
        "feature_types",
        "gradient_booster",
        "learner_model_param",
        "objective",
    }
    if set(learner) != expected:
        raise _error(where, f"learner keys {sorted(learner)}, expected {sorted(expected)}.")
    attributes = _get(learner, "attributes", where, dict)
    if not all(isinstance(v, str) for v in attributes.values()):
        raise _error(where, "attributes must be strings.")
    for key in ("feature_names", "feature_types"):
        if _get(learner, key, where, list):
            raise _error(where, f"{key} are set (skfam never sets them).")
    n_groups = n_classes if n_classes is not None else 1
    params = _get(learner, "learner_model_param", where, dict)
    if _count(params, "num_feature", where) != n_features:
        raise _error(where, f"num_feature is not the estimator's {n_features}.")
    if _count(params, "num_class", where) != (n_classes or 0):
        raise _error(where, "num_class does not match the estimator's classes.")
    if _count(params, "num_target", where) != 1:
        raise _error(where, "more than one target (skfam never writes that).")
    base_score = _get(params, "base_score", where, str)
    scores = base_score[1:-1].split(",") if base_score[:1] == "[" else []
    if (
        base_score[-1:] != "]"
        or len(scores) != n_groups
        or not all(_FLOAT.fullmatch(s) and math.isfinite(float(s)) for s in scores)
    ):
        raise _error(where, f"base_score {base_score[:40]!r} is not {n_groups} number(s).")
    objective_params = _get(learner, "objective", where, dict)
    if _get(objective_params, "name", where, str) != objective:
        raise _error(where, f"the objective is not {objective!r}.")
    if n_classes is not None:
        softmax = _get(objective_params, "softmax_multiclass_param", where, dict)
        if _count(softmax, "num_class", where) != n_classes:
            raise _error(where, "the objective's num_class does not match the classes.")
    booster = _get(learner, "gradient_booster", where, dict)
    if booster.get("name") != "gbtree":
        raise _error(where, "not a gbtree booster (skfam writes only gbtree).")
    gbtree = _get(booster, "model", where, dict)
    cats = gbtree.get("cats", {})
    if not isinstance(cats, dict) or any(v != [] for v in cats.values()):
        raise _error(where, "category encodings are set (skfam never writes them).")
    model_param = _get(gbtree, "gbtree_model_param", where, dict)
    if _count(model_param, "num_parallel_tree", where) != 1:
        raise _error(where, "num_parallel_tree is not 1.")
    n_trees = _count(model_param, "num_trees", where)
    trees = _get(gbtree, "trees", where, list)
    tree_info = _int_list(gbtree, "tree_info", where, 0, n_groups - 1)
    if len(trees) != n_trees or len(tree_info) != n_trees:
        raise _error(
            where,
            f"num_trees={n_trees}, but {len(trees)} trees and {len(tree_info)} tree_info.",
        )
    indptr = _int_list(gbtree, "iteration_indptr", where, 0, n_trees)
    if (
        not indptr
        or indptr[0] != 0
        or indptr[-1] != n_trees
        or any(b - a != n_groups for a, b in itertools.pairwise(indptr))
    ):
        raise _error(where, "iteration_indptr does not match the trees.")
    if tree_info != [i % n_groups for i in range(n_trees)]:
        raise _error(where, "tree_info does not match the classes.")
    for index, tree in enumerate(trees):
        _check_xgboost_tree(tree, index, n_features, f"{where} tree {index}")
    return len(indptr) - 1
