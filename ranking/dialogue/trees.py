"""A saved LightGBM model's trees evaluated in numpy: the conversation layer serves without importing
LightGBM, which brings scikit-learn and pandas with it (~2.5 s of CPU on 2 cores at every start).

`TreeEnsemble.parse(model_text)` reads the text `Booster.model_to_string()` writes; `predict(X)` walks every
tree for every row at once, with LightGBM's rules for numerical splits (`fval <= threshold` goes left; a
missing value goes the default way, or counts as 0 where the split has no missing-value rule) and sums the
leaf values tree by tree in float64, as LightGBM does: the same scores. A model with a split it does not
cover (categorical) is refused with `ValueError`, and the caller keeps LightGBM.
"""

from __future__ import annotations

import numpy as np

_ZERO = 1e-35  # LightGBM's kZeroThreshold
_MISSING_ZERO, _MISSING_NAN = 1, 2


class TreeEnsemble:
    """Trees side by side: node arrays of all trees concatenated; leaves are nodes whose children are themselves."""

    def __init__(self, feature: np.ndarray, threshold: np.ndarray, default_left: np.ndarray, missing: np.ndarray,
                 left: np.ndarray, right: np.ndarray, value: np.ndarray, roots: np.ndarray) -> None:
        self.feature, self.threshold, self.default_left, self.missing = feature, threshold, default_left, missing
        self.left, self.right, self.value, self.roots = left, right, value, roots
        self.depth = _depth(left, right, roots)
        self.zero_is_missing = bool((missing == _MISSING_ZERO).any())

    @classmethod
    def parse(cls, text: str) -> TreeEnsemble:
        trees = [_fields(block) for block in text.split("end of trees")[0].split("\nTree=")[1:]]
        if not trees:
            raise ValueError("no trees in the model text")
        cols: dict[str, list] = {k: [] for k in ("feature", "threshold", "decision", "left", "right", "value")}
        roots = []
        offset = 0
        for t in trees:
            leaves = int(t["num_leaves"])
            values = _floats(t["leaf_value"])
            if leaves == 1:  # a stump: one leaf, no splits
                splits = 0
                children: tuple[list[int], list[int]] = ([], [])
            else:
                splits = leaves - 1
                children = (_ints(t["left_child"]), _ints(t["right_child"]))
                decision = _ints(t["decision_type"])
                if any(d & 1 for d in decision):
                    raise ValueError("categorical splits are not supported")
                cols["feature"] += _ints(t["split_feature"])
                cols["threshold"] += _floats(t["threshold"])
                cols["decision"] += decision
            # Node ids: this tree's splits, then its leaves; a child < 0 is leaf ~child.
            base_leaf = offset + splits
            for side, key in zip(children, ("left", "right"), strict=True):
                cols[key] += [offset + c if c >= 0 else base_leaf + ~c for c in side]
            roots.append(offset if splits else base_leaf)
            leaf_ids = list(range(base_leaf, base_leaf + leaves))
            cols["feature"] += [0] * leaves
            cols["threshold"] += [0.0] * leaves
            cols["decision"] += [0] * leaves
            cols["left"] += leaf_ids
            cols["right"] += leaf_ids
            cols["value"] += [0.0] * splits + values
            offset += splits + leaves
        decision = np.asarray(cols["decision"], np.int64)
        return cls(np.asarray(cols["feature"], np.int64), np.asarray(cols["threshold"], np.float64),
                   (decision & 2) > 0, (decision >> 2) & 3, np.asarray(cols["left"], np.int64),
                   np.asarray(cols["right"], np.int64), np.asarray(cols["value"], np.float64),
                   np.asarray(roots, np.int64))

    def predict(self, X: np.ndarray) -> np.ndarray:
        """float64 [len(X)]: the sum of every tree's leaf value for each row of X [n, features]."""
        X = np.asarray(X, dtype=np.float64)
        if not self.zero_is_missing and not np.isnan(X).any():
            return _tree_by_tree(self.value[self._leaves(X)].reshape(len(X), len(self.roots)))
        rows = np.arange(len(X))[:, None]
        node = np.broadcast_to(self.roots, (len(X), len(self.roots))).copy()  # [rows, trees]
        while True:
            left, right = self.left[node], self.right[node]
            inner = left != node
            if not inner.any():
                break
            fval = X[rows, self.feature[node]]
            missing = self.missing[node]
            nan = np.isnan(fval)
            fval = np.where(nan & (missing != _MISSING_NAN), 0.0, fval)
            to_default = ((missing == _MISSING_ZERO) & (np.abs(fval) <= _ZERO)) | ((missing == _MISSING_NAN) & nan)
            go_left = np.where(to_default, self.default_left[node], fval <= self.threshold[node])
            node = np.where(go_left, left, right)
        return _tree_by_tree(self.value[node])

    def _leaves(self, X: np.ndarray) -> np.ndarray:
        """The leaf each (row, tree) reaches, row-major, when every split is `fval <= threshold` (no missing value
        in X, no split treating zero as missing): the usual case, 3.5 times faster than the general walk. A leaf
        is its own child, so steps need not check who is there yet; every second step from the fifth on drops the
        pairs that are (most paths are much shorter than the deepest)."""
        n, trees = len(X), len(self.roots)
        flat = X.ravel()
        cur = np.tile(self.roots, n)
        at = np.repeat(np.arange(n) * X.shape[1], trees)
        node, walking = None, None  # once compacted: every pair's node, and the positions still walking
        for step in range(self.depth):
            cur = np.where(flat[at + self.feature[cur]] <= self.threshold[cur], self.left[cur], self.right[cur])
            if step >= 4 and step % 2 == 0:
                going = self.left[cur] != cur
                if node is None:
                    node, walking = cur.copy(), np.flatnonzero(going)
                else:
                    node[walking] = cur
                    walking = walking[going]
                cur, at = cur[going], at[going]
                if not cur.size:
                    break
        if node is None:
            return cur
        node[walking] = cur
        return node


def _tree_by_tree(leaf_values: np.ndarray) -> np.ndarray:
    """Row sums of [rows, trees] added tree by tree, as LightGBM adds them (a running sum is sequential)."""
    if not leaf_values.shape[1]:
        return np.zeros(len(leaf_values), np.float64)
    return np.cumsum(leaf_values, axis=1)[:, -1]


def _depth(left: np.ndarray, right: np.ndarray, roots: np.ndarray) -> int:
    """The longest root-to-leaf path of any tree, in splits."""
    depth, node = 0, roots
    while True:
        node = node[left[node] != node]
        if not node.size:
            return depth
        node = np.concatenate([left[node], right[node]])
        depth += 1


def _fields(block: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in block.splitlines()[1:] if "=" in line)


def _ints(s: str) -> list[int]:
    return [int(v) for v in s.split()]


def _floats(s: str) -> list[float]:
    return [float(v) for v in s.split()]
