"""Maximum-weight matching in a general graph: Edmonds' blossom algorithm, by hand.

The algorithm is Edmonds' primal-dual blossom method for weighted matching (J. Edmonds,
"Paths, trees, and flowers" and "Maximum matching and a polyhedron with 0,1-vertices", both
1965) in the O(n³) form Zvi Galil presents in "Efficient algorithms for finding maximum
matching in graphs", ACM Computing Surveys 18(1), 1986. The code follows the layout of Joris
van Rantwijk's mwmatching.py (2008), from which networkx's ``max_weight_matching`` derives:
edge endpoints numbered 2k and 2k+1, S/T labels on top-level blossoms, a least-slack edge per
blossom, vertex duals kept doubled, and four kinds of dual change. It departs from that
code in five ways: positive integer weights only; no max-cardinality mode (bot/matching.py
puts cardinality into the weights instead); vertices are 0..n-1 with n given, so isolated
vertices need no edge; edges of the top weight are matched greedily before the first stage;
and there is no optimality self-check (tests/test_blossom.py compares the result with
networkx instead).

Why by hand: the mock-interview matcher needs the exact optimum of a weighted matching on a
general, not bipartite, graph, and a dense one (every pair of people, in rounds of up to
bot/matching.py's ``EXACT_UP_TO``). Assignment solvers such as scipy's
``linear_sum_assignment`` solve only the bipartite case, and networkx, which has this
algorithm, is only a development dependency (tests and bench/matching.py use it as the
reference); bot/ does not import it.
"""

from __future__ import annotations

from collections.abc import Sequence

Edge = tuple[int, int, int]  # (i, j, weight): i != j, at most one edge per pair, weight > 0


def max_weight_matching(n: int, edges: Sequence[Edge]) -> list[int]:
    """Maximum-weight matching of vertices 0..n-1; each vertex's mate, or -1.

    Weights must be positive integers: the greedy start matches top-weight edges outright,
    which would be wrong if the top weight were negative.
    Endpoints: edge k has endpoints 2k and 2k+1; ``end[p]`` is the vertex at endpoint p.
    """
    if not edges:
        return [-1] * n
    top = max(w for _, _, w in edges)
    end = [v for i, j, _ in edges for v in (i, j)]
    adj: list[list[int]] = [[] for _ in range(n)]  # remote endpoints of each vertex's edges
    for k, (i, j, _) in enumerate(edges):
        adj[i].append(2 * k + 1)
        adj[j].append(2 * k)
    mate = [-1] * n  # the remote endpoint of the vertex's matched edge
    label = [0] * (2 * n)  # top-level blossoms and vertices: 0 free, 1 outer (S), 2 inner (T)
    label_end = [-1] * (2 * n)  # the endpoint through which the label came
    in_blossom = list(range(n))  # the top-level blossom holding each vertex
    parent = [-1] * (2 * n)
    children: list[list[int]] = [[] for _ in range(2 * n)]  # sub-blossoms around the cycle
    endps: list[list[int]] = [[] for _ in range(2 * n)]  # the endpoints linking them
    base = list(range(n)) + [-1] * n
    best_edge = [-1] * (2 * n)  # least-slack edge to another S-blossom (or, for a free
    best_edges: list[list[int] | None] = [None] * (2 * n)  # vertex, from one)
    unused = list(range(n, 2 * n))
    dual = [top] * n + [0] * n
    allowed = [False] * len(edges)  # tight edges
    queue: list[int] = []

    def slack(k: int) -> int:
        i, j, w = edges[k]
        return dual[i] + dual[j] - 2 * w

    def leaves(b: int) -> list[int]:
        out, stack = [], [b]
        while stack:
            t = stack.pop()
            if t < n:
                out.append(t)
            else:
                stack.extend(children[t])
        return out

    def assign_label(w: int, t: int, p: int) -> None:
        while True:
            b = in_blossom[w]
            label[w] = label[b] = t
            label_end[w] = label_end[b] = p
            best_edge[w] = best_edge[b] = -1
            if t == 1:
                queue.extend(leaves(b))
                return
            m = mate[base[b]]  # an inner blossom's base is matched: its mate becomes outer
            w, t, p = end[m], 1, m ^ 1

    def scan_blossom(v: int, w: int) -> int:
        """Walk back from v and w; the base of a new blossom, or -1 for an augmenting path."""
        path, found = [], -1
        while v != -1 or w != -1:
            b = in_blossom[v]
            if label[b] & 4:
                found = base[b]
                break
            path.append(b)
            label[b] = 5
            v = -1 if label_end[b] == -1 else end[label_end[in_blossom[end[label_end[b]]]]]
            if w != -1:
                v, w = w, v
        for b in path:
            label[b] = 1
        return found

    def add_blossom(root: int, k: int) -> None:
        v, w, _ = edges[k]
        bb, bv, bw = in_blossom[root], in_blossom[v], in_blossom[w]
        b = unused.pop()
        base[b], parent[b], parent[bb] = root, -1, b
        path: list[int] = []
        ends: list[int] = []
        while bv != bb:
            parent[bv] = b
            path.append(bv)
            ends.append(label_end[bv])
            bv = in_blossom[end[label_end[bv]]]
        path.append(bb)
        path.reverse()
        ends.reverse()
        ends.append(2 * k)
        while bw != bb:
            parent[bw] = b
            path.append(bw)
            ends.append(label_end[bw] ^ 1)
            bw = in_blossom[end[label_end[bw]]]
        children[b], endps[b] = path, ends
        label[b], label_end[b], dual[b] = 1, label_end[bb], 0
        for x in leaves(b):
            if label[in_blossom[x]] == 2:
                queue.append(x)  # inner vertices become outer inside the new blossom
            in_blossom[x] = b
        best_to: dict[int, int] = {}  # least-slack edge to each neighbouring S-blossom
        for sub in path:
            known = best_edges[sub]
            lists = [[p // 2 for p in adj[x]] for x in leaves(sub)] if known is None else [known]
            for candidates in lists:
                for e in candidates:
                    i, j, _ = edges[e]
                    if in_blossom[j] == b:
                        i, j = j, i
                    bj = in_blossom[j]
                    if (
                        bj != b
                        and label[bj] == 1
                        and (bj not in best_to or slack(e) < slack(best_to[bj]))
                    ):
                        best_to[bj] = e
            best_edges[sub], best_edge[sub] = None, -1
        kept = list(best_to.values())
        best_edges[b] = kept
        best_edge[b] = min(kept, key=slack, default=-1)

    def expand_blossom(b: int, endstage: bool) -> None:
        for s in children[b]:
            parent[s] = -1
            if s < n:
                in_blossom[s] = s
            elif endstage and dual[s] == 0:
                expand_blossom(s, endstage)
            else:
                for x in leaves(s):
                    in_blossom[x] = s
        if not endstage and label[b] == 2:
            # Relabel the sub-blossoms on the even path from the entry to the base.
            entry = in_blossom[end[label_end[b] ^ 1]]
            j = children[b].index(entry)
            if j & 1:
                j, step, trick = j - len(children[b]), 1, 0
            else:
                step, trick = -1, 1
            p = label_end[b]
            while j != 0:
                label[end[p ^ 1]] = 0
                label[end[endps[b][j - trick] ^ trick ^ 1]] = 0
                assign_label(end[p ^ 1], 2, p)
                allowed[endps[b][j - trick] // 2] = True
                j += step
                p = endps[b][j - trick] ^ trick
                allowed[p // 2] = True
                j += step
            bv = children[b][j]
            label[end[p ^ 1]] = label[bv] = 2
            label_end[end[p ^ 1]] = label_end[bv] = p
            best_edge[bv] = -1
            j += step
            while children[b][j] != entry:
                bv = children[b][j]
                if label[bv] != 1:  # an outer one got its label through a neighbour
                    reached = next((x for x in leaves(bv) if label[x] != 0), -1)
                    if reached != -1:
                        label[reached] = 0
                        label[end[mate[base[bv]]]] = 0
                        assign_label(reached, 2, label_end[reached])
                j += step
        label[b] = label_end[b] = -1
        children[b], endps[b] = [], []
        base[b], best_edges[b], best_edge[b] = -1, None, -1
        unused.append(b)

    def augment_blossom(b: int, v: int) -> None:
        """Swap matched and unmatched edges around b so that v becomes its base."""
        t = v
        while parent[t] != b:
            t = parent[t]
        if t >= n:
            augment_blossom(t, v)
        i = j = children[b].index(t)
        if i & 1:
            j, step, trick = j - len(children[b]), 1, 0
        else:
            step, trick = -1, 1
        while j != 0:
            j += step
            t = children[b][j]
            p = endps[b][j - trick] ^ trick
            if t >= n:
                augment_blossom(t, end[p])
            j += step
            t = children[b][j]
            if t >= n:
                augment_blossom(t, end[p ^ 1])
            mate[end[p]], mate[end[p ^ 1]] = p ^ 1, p
        children[b] = children[b][i:] + children[b][:i]
        endps[b] = endps[b][i:] + endps[b][:i]
        base[b] = base[children[b][0]]

    def augment_matching(k: int) -> None:
        v, w, _ = edges[k]
        for s, p in ((v, 2 * k + 1), (w, 2 * k)):
            while True:
                bs = in_blossom[s]
                if bs >= n:
                    augment_blossom(bs, s)
                mate[s] = p
                if label_end[bs] == -1:
                    break
                bt = in_blossom[end[label_end[bs]]]
                s, j = end[label_end[bt]], end[label_end[bt] ^ 1]
                if bt >= n:
                    augment_blossom(bt, j)
                mate[j] = label_end[bt]
                p = label_end[bt] ^ 1

    # Every dual starts at the top weight, so top-weight edges are tight: matching them
    # greedily is what the first stages would do, without a search over all edges each.
    for k, (i, j, w) in enumerate(edges):
        if w == top and mate[i] == mate[j] == -1:
            mate[i], mate[j] = 2 * k + 1, 2 * k
    for _ in range(n):  # each stage augments the matching by one edge, or ends
        label[:] = [0] * (2 * n)
        best_edge[:] = [-1] * (2 * n)
        best_edges[n:] = [None] * n
        allowed[:] = [False] * len(edges)
        queue.clear()
        for v in range(n):
            if mate[v] == -1 and label[in_blossom[v]] == 0:
                assign_label(v, 1, -1)
        augmented = False
        while True:
            while queue and not augmented:
                v = queue.pop()
                for p in adj[v]:
                    k, w = p // 2, end[p]
                    if in_blossom[v] == in_blossom[w]:
                        continue
                    kslack = 0
                    if not allowed[k]:
                        kslack = slack(k)
                        allowed[k] = kslack <= 0
                    if allowed[k]:
                        if label[in_blossom[w]] == 0:
                            assign_label(w, 2, p ^ 1)
                        elif label[in_blossom[w]] == 1:
                            root = scan_blossom(v, w)
                            if root >= 0:
                                add_blossom(root, k)
                            else:
                                augment_matching(k)
                                augmented = True
                                break
                        elif label[w] == 0:
                            label[w], label_end[w] = 2, p ^ 1
                    elif label[in_blossom[w]] == 1:
                        b = in_blossom[v]
                        if best_edge[b] == -1 or kslack < slack(best_edge[b]):
                            best_edge[b] = k
                    elif label[w] == 0 and (best_edge[w] == -1 or kslack < slack(best_edge[w])):
                        best_edge[w] = k
            if augmented:
                break
            # No tight edge left to follow: change the duals by the largest safe delta.
            kind, delta, edge, blossom = 1, min(dual[:n]), -1, -1
            for v in range(n):
                if label[in_blossom[v]] == 0 and best_edge[v] != -1:
                    d = slack(best_edge[v])
                    if d < delta:
                        kind, delta, edge = 2, d, best_edge[v]
            for b in range(2 * n):
                if parent[b] == -1 and label[b] == 1 and best_edge[b] != -1:
                    d = slack(best_edge[b]) // 2
                    if d < delta:
                        kind, delta, edge = 3, d, best_edge[b]
            for b in range(n, 2 * n):
                if base[b] >= 0 and parent[b] == -1 and label[b] == 2 and dual[b] < delta:
                    kind, delta, blossom = 4, dual[b], b
            for v in range(n):
                if label[in_blossom[v]] == 1:
                    dual[v] -= delta
                elif label[in_blossom[v]] == 2:
                    dual[v] += delta
            for b in range(n, 2 * n):
                if base[b] >= 0 and parent[b] == -1:
                    if label[b] == 1:
                        dual[b] += delta
                    elif label[b] == 2:
                        dual[b] -= delta
            if kind == 1:  # optimum reached: some free vertex's dual hit zero
                break
            if kind == 4:
                expand_blossom(blossom, False)
                continue
            allowed[edge] = True
            i, j, _ = edges[edge]
            queue.append(j if label[in_blossom[i]] == 0 else i)
        if not augmented:
            break
        for b in range(n, 2 * n):  # outer blossoms whose dual fell to zero open up again
            if parent[b] == -1 and base[b] >= 0 and label[b] == 1 and dual[b] == 0:
                expand_blossom(b, True)
    return [end[m] if m >= 0 else -1 for m in mate]
