"""Network topology: islands, BAA membership, tie lines and the BAA graph (spec §2.1, §2.3)."""

from __future__ import annotations

import networkx as nx
import pandas as pd

TIE_LINE_COLUMNS = ["branch", "from_bus", "to_bus", "from_baa", "to_baa", "rating_mw"]


def bus_graph(buses: list[str], branches: pd.DataFrame) -> nx.MultiGraph:
    """Undirected bus graph, one edge per branch (parallel branches kept), spec §2.3."""
    g = nx.MultiGraph()
    g.add_nodes_from(str(b) for b in buses)
    g.add_edges_from((str(f), str(t), str(l)) for l, f, t in
                     zip(branches["branch"], branches["from_bus"], branches["to_bus"]))
    return g


def islands(buses: list[str], branches: pd.DataFrame) -> list[set[str]]:
    """Connected components of the bus graph, largest first, ties by smallest bus id
    (spec §2.3: one reference bus needs one island)."""
    comps = [set(c) for c in nx.connected_components(bus_graph(buses, branches))]
    return sorted(comps, key=lambda c: (-len(c), min(c)))


def baa_membership(scenario) -> dict[str, str]:
    """bus -> BAA (spec §2.1, N_b)."""
    b = scenario.buses
    return {str(n): str(a) for n, a in zip(b["bus"], b["baa"])}


def tie_lines(scenario) -> pd.DataFrame:
    """Branches whose ends lie in different BAAs, with from_baa, to_baa and rating_mw
    (spec §2.3), in branch order."""
    baa = baa_membership(scenario)
    br = scenario.branches
    out = pd.DataFrame({
        "branch": br["branch"].astype(str).to_numpy(),
        "from_bus": br["from_bus"].astype(str).to_numpy(),
        "to_bus": br["to_bus"].astype(str).to_numpy(),
        "rating_mw": br["rating_mw"].to_numpy(dtype=float),
    })
    out["from_baa"] = out["from_bus"].map(baa)
    out["to_baa"] = out["to_bus"].map(baa)
    out = out.loc[out["from_baa"] != out["to_baa"], TIE_LINE_COLUMNS]
    return out.reset_index(drop=True)


def baa_graph(scenario) -> nx.Graph:
    """Graph of BAAs (every BAA a node) joined where tie lines exist; each edge carries
    `branches` (tie-line ids) and `rating_mw` (their summed rating), spec §2.1."""
    g = nx.Graph()
    g.add_nodes_from(sorted(str(b) for b in scenario.baas["baa"]))
    for row in tie_lines(scenario).itertuples(index=False):
        u, v = row.from_baa, row.to_baa
        if g.has_edge(u, v):
            g[u][v]["branches"].append(row.branch)
            g[u][v]["rating_mw"] += row.rating_mw
        else:
            g.add_edge(u, v, branches=[row.branch], rating_mw=row.rating_mw)
    return g
