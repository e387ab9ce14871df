"""Connected components over numbered nodes: the one union of pairs used by linkage."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

IntArray = npt.NDArray[np.int64]


def components(n: int, left: IntArray, right: IntArray) -> IntArray:
    """Each node's component, named by the component's smallest node number.

    Parameters
    ----------
    n
        The number of nodes, numbered 0..n-1.
    left, right
        The pairs to join, as two arrays of node numbers of equal length.
    """
    graph = coo_matrix((np.ones(len(left), dtype=np.int8), (left, right)), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    smallest = np.full(label.max() + 1 if n else 0, n, dtype=np.int64)
    np.minimum.at(smallest, label, np.arange(n, dtype=np.int64))
    result: IntArray = smallest[label]
    return result
