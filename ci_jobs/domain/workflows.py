"""Workflows, pure: a Topology (a DAG of named nodes between Start and End), its rules, and the plan of an
execution (which nodes run next, and when the execution is over).

The wire names are CI's (`Dependencies`, `Nodes`, `Start`, `End`); the codec hands in plain dicts and
this module decides. A node with several parents runs after all of them succeeded (join); a node after
a failed or skipped one is skipped; the other branches still run, and the execution ends Failed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .jobs import FINAL_STATES

START, END = "Start", "End"

Edges = Mapping[str, frozenset[str]]  # a node type -> the types that may follow it (the protocol's table)


class TopologyError(ValueError):
    """A topology that breaks a rule; the message names the node."""


@dataclass(frozen=True)
class Node:
    """One processing node: its name, its type (a Tag), its parents and children (End/Start included)."""

    name: str
    type: str
    parents: tuple[str, ...]
    children: tuple[str, ...]
    body: Mapping[str, Any]  # the node's element as given (Type, Operation)


@dataclass(frozen=True)
class Topology:
    """A checked DAG: the Start node's body and the processing nodes in a dependency order."""

    start: Mapping[str, Any]
    nodes: tuple[Node, ...]

    def node(self, name: str) -> Node:
        """The processing node called `name`."""
        return next(n for n in self.nodes if n.name == name)


def parse_topology(value: Any, runnable: frozenset[str], edges: Edges,
                   refused: Mapping[str, str] | None = None) -> Topology:
    """Check a `Topology` dict (Dependencies + Nodes) and order it; TopologyError names the bad node.

    `runnable`: the node types this server runs; `edges`: which types may follow which (CI's table:
    `tags.workflow_nodes.EDGES`); `refused`: types refused with a reason of their own.
    """
    if not isinstance(value, Mapping):
        raise TopologyError("Topology must contain Dependencies and Nodes")
    deps, nodes = value.get("Dependencies"), value.get("Nodes")
    if not isinstance(deps, Mapping) or not deps:
        raise TopologyError("Topology.Dependencies is required")
    if not isinstance(nodes, Mapping) or START not in nodes:
        raise TopologyError("Topology.Nodes must contain exactly one Start node")
    children = {name: _successors(name, text) for name, text in deps.items()}
    types = {name: _type(name, body) for name, body in nodes.items()}
    _check_names(children, types, runnable, refused or {})
    order = _order(children, types)
    parents: dict[str, list[str]] = {name: [] for name in types}
    for name, succ in children.items():
        for child in succ:
            if child != END:
                parents[child].append(name)
                _check_edge(edges, name, types[name], child, types[child])
            elif types[name] not in (START,) and END not in edges.get(types[name], frozenset()):
                raise TopologyError(f"Topology.Nodes.{name}: a {types[name]} node cannot be followed by End")
    built = tuple(Node(n, types[n], tuple(parents[n]), tuple(children.get(n, ())), nodes[n]) for n in order)
    return Topology(nodes[START], built)


def _successors(name: str, text: Any) -> tuple[str, ...]:
    if not isinstance(text, str) or not text.strip():
        raise TopologyError(f"Topology.Dependencies.{name} must name its successors (comma-separated) or End")
    succ = tuple(s.strip() for s in text.split(",") if s.strip())
    if len(set(succ)) != len(succ):
        raise TopologyError(f"Topology.Dependencies.{name} names a successor twice")
    return succ


def _type(name: str, body: Any) -> str:
    if not isinstance(body, Mapping) or not str(body.get("Type") or "").strip():
        raise TopologyError(f"Topology.Nodes.{name}.Type is required")
    kind = str(body["Type"]).strip()
    if (kind == START) != (name == START):
        raise TopologyError(f"Topology.Nodes.{name}: only the node named Start may (and must) be of Type Start")
    return kind


def _check_names(children: Mapping[str, tuple[str, ...]], types: Mapping[str, str], runnable: frozenset[str],
                 refused: Mapping[str, str]) -> None:
    for name, kind in types.items():
        if name == END:
            raise TopologyError("Topology.Nodes.End: End is implied and must not be declared")
        if kind != START and kind not in runnable:
            why = refused.get(kind) or f"this server runs {', '.join(sorted(runnable))}"
            raise TopologyError(f"Topology.Nodes.{name}: Type {kind} is not supported ({why})")
        if name not in children:
            raise TopologyError(f"Topology.Dependencies.{name} is missing: every node needs successors (or End)")
    for name, succ in children.items():
        if name not in types:
            raise TopologyError(f"Topology.Dependencies.{name} names a node that is not in Topology.Nodes")
        for child in succ:
            if child == START:
                raise TopologyError(f"Topology.Dependencies.{name}: Start cannot follow another node")
            if child != END and child not in types:
                raise TopologyError(f"Topology.Dependencies.{name} names {child}, which is not in Topology.Nodes")


def _check_edge(edges: Edges, parent: str, parent_type: str, child: str, child_type: str) -> None:
    allowed = edges.get(parent_type, frozenset())
    if child_type not in allowed:
        raise TopologyError(f"Topology.Nodes.{child}: a {child_type} node cannot follow {parent} ({parent_type}); "
                            f"after {parent_type} come {', '.join(sorted(allowed)) or 'no nodes'}")


def _order(children: Mapping[str, tuple[str, ...]], types: Mapping[str, str]) -> list[str]:
    """The processing nodes in a dependency order (Kahn); a cycle or a node Start cannot reach is refused."""
    indegree = {n: 0 for n in types}
    for succ in children.values():
        for c in succ:
            if c != END:
                indegree[c] += 1
    ready, order = [START], []
    while ready:
        name = ready.pop(0)
        order.append(name)
        for c in children.get(name, ()):
            if c != END:
                indegree[c] -= 1
                if indegree[c] == 0:
                    ready.append(c)
    stuck = [n for n in types if n not in order]
    if stuck:
        raise TopologyError(f"Topology.Nodes.{stuck[0]}: not reachable from Start, or part of a cycle")
    if len(order) == 1:
        raise TopologyError("Topology needs at least one node after Start")
    return order[1:]


class NodeState(StrEnum):
    """Where one node of an execution stands."""

    WAITING = "Waiting"      # its parents have not all succeeded yet
    READY = "Ready"          # every parent succeeded: submit its job now
    RUNNING = "Running"      # its job exists and has not ended
    SUCCESS = "Success"
    FAILED = "Failed"        # its job failed or was cancelled, or it could not be submitted
    SKIPPED = "Skipped"      # a parent failed or was skipped: it never runs


@dataclass(frozen=True)
class Plan:
    """What an execution does next: the nodes to submit, and its end state once nothing is left."""

    states: dict[str, NodeState]
    ready: tuple[str, ...]
    final: str | None  # Success | Failed when over, else None


def plan(topology: Topology, job_states: Mapping[str, str], failed: Mapping[str, str]) -> Plan:
    """The next step of an execution from its nodes' job states (`failed`: nodes that got no job)."""
    states: dict[str, NodeState] = {}
    for node in topology.nodes:
        states[node.name] = _node_state(node, job_states.get(node.name), node.name in failed, states)
    ready = tuple(n for n, s in states.items() if s == NodeState.READY)
    busy = any(s in (NodeState.READY, NodeState.RUNNING, NodeState.WAITING) for s in states.values())
    final = None
    if not busy:
        final = "Success" if all(s == NodeState.SUCCESS for s in states.values()) else "Failed"
    return Plan(states, ready, final)


def _node_state(node: Node, job_state: str | None, failed: bool, before: Mapping[str, NodeState]) -> NodeState:
    if failed:
        return NodeState.FAILED
    if job_state is not None:
        if job_state == "Success":
            return NodeState.SUCCESS
        return NodeState.FAILED if job_state in FINAL_STATES else NodeState.RUNNING
    parents = [before[p] for p in node.parents if p != START]
    if any(p in (NodeState.FAILED, NodeState.SKIPPED) for p in parents):
        return NodeState.SKIPPED
    return NodeState.READY if all(p == NodeState.SUCCESS for p in parents) else NodeState.WAITING


VIDEO_EXTS = frozenset("mp4 mov flv avi mkv ts m3u8 wmv webm mpg mpeg 3gp m4v rm rmvb f4v mxf vob".split())
AUDIO_EXTS = frozenset("mp3 wav aac flac m4a ogg wma amr ac3 ape opus".split())
IMAGE_EXTS = frozenset("jpg jpeg png gif bmp webp tif tiff heic heif avif".split())


@dataclass(frozen=True)
class Trigger:
    """Which uploads start a workflow: its Start node's ObjectPrefix and ExtFilter."""

    prefix: str
    filter_on: bool = False
    video: bool = False
    audio: bool = False
    image: bool = False
    content_type: bool = False
    all_files: bool = False
    custom: frozenset[str] = frozenset()

    def matches(self, key: str, content_type: str = "") -> bool:
        """True when an object of this key (and Content-Type) starts the workflow."""
        if not key.startswith(self.prefix):
            return False
        if not self.filter_on or self.all_files:
            return True
        ext = key.rsplit(".", 1)[1].lower() if "." in key.rsplit("/", 1)[-1] else ""
        family = content_type.split("/", 1)[0].lower() if self.content_type else ""
        return ((self.video and (ext in VIDEO_EXTS or family == "video"))
                or (self.audio and (ext in AUDIO_EXTS or family == "audio"))
                or (self.image and (ext in IMAGE_EXTS or family == "image"))
                or ext in self.custom)
