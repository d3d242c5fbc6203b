// The analyst's network explorer: family, guardianship and household links drawn as a graph.
// Expanding a node asks the API (`network`) for its links, under the same policy as any query:
// an analyst gets pseudonyms instead of ids and names, masked fields masked, and a denied field
// is shown as "not permitted". Nothing is filled in on the device.

import cytoscape from "cytoscape";

import { errorText, gql, topLevelError } from "../api";
import { facts, fieldName } from "../fields";
import { h, mount, notice } from "../dom";
import { code, fmtValue, t } from "../i18n";
import { href, navigate } from "../router";
import { NETWORK } from "../documents";

export const REL_TYPES = ["PARENT_OF", "GUARDIAN_OF", "MEMBER_OF"];

/** Which code book a property's value comes from. */
const PROP_GROUP: Record<string, string> = {
  sex: "sex",
  hukouType: "hukou",
  guardianshipCapacity: "capacity",
  role: "role",
  kind: "guardianKind",
  relationToHead: "role",
};

/** A property's name in words (the API names them in camelCase); one the table lacks is marked as
 * an unlisted code, which the page walk catches. */
export function propLabel(name: string): string {
  return fieldName(name) ?? code("attribute", name);
}

export interface Prop {
  name: string;
  value: unknown;
  decision: string; // allow | mask | deny | pseudonymised
  reason: string | null;
}

interface NetNode {
  id: string;
  kind: string;
  label: string | null;
  properties: Prop[];
}

interface NetEdge {
  id: string;
  type: string;
  source: string;
  target: string;
  properties: Prop[];
}

interface Net {
  start: string;
  pseudonymised: boolean;
  nodes: NetNode[];
  edges: NetEdge[];
}


/** A pseudonym is shown shortened: its kind and the first characters stay recognisable. */
export function shortId(id: string): string {
  const [kind, rest = ""] = id.includes("~") ? id.split("~") : id.split(":");
  const word = code("nodeKind", kind.charAt(0).toUpperCase() + kind.slice(1));
  return id.includes("~") ? `${word}·${rest.slice(0, 6)}` : `${word}·${rest.slice(0, 6)}`;
}

/** One network property as the policy let it through. */
export function propView(p: Prop, key: string): HTMLElement {
  if (p.decision === "deny") {
    return h("span", { class: "denied", title: code("reason", p.reason ?? "denied_by_policy"), "data-field": key }, t("notPermittedShort"));
  }
  if (p.decision === "pseudonymised") {
    return h("span", { class: "masked", title: t("pseudonymised"), "data-field": key }, t("pseudonymised"));
  }
  const group = PROP_GROUP[p.name];
  const raw = p.value;
  const shown =
    raw === null || raw === undefined
      ? "—"
      : group && typeof raw === "string" && !raw.includes("*")
        ? code(group, raw)
        : Array.isArray(raw)
          ? raw.map(String).join("、")
          : fmtValue(raw as string | number | boolean);
  return h("span", { class: p.decision === "mask" ? "masked" : "value", title: p.decision === "mask" ? t("maskedByPolicy") : "", "data-field": key }, shown);
}

type Box = { x1: number; y1: number; x2: number; y2: number };

/** Every caption in the picture: a node with its label, an edge's label; and the nodes that carry it. */
export function labelBoxes(cy: cytoscape.Core): { box: Box; owners: string[]; id: string }[] {
  const out: { box: Box; owners: string[]; id: string }[] = [];
  cy.nodes(":visible").forEach((n) => {
    out.push({ id: n.id(), box: n.boundingBox({ includeLabels: true }), owners: [n.id()] });
  });
  cy.edges(":visible").forEach((e) => {
    if (!e.data("label")) return;
    const box = e.boundingBox({ includeEdges: false, includeNodes: false, includeLabels: true, includeMainLabels: true });
    if (box.w > 0) out.push({ id: e.id(), box, owners: [e.source().id(), e.target().id()] });
  });
  return out;
}

// Captions are parted with this much room to spare, so that what changes after the layout (the
// selected node's wider border moves its edges' captions by a pixel) cannot put two on each other.
const ROOM = 4;

function overlap(a: Box, b: Box): number {
  const x = Math.min(a.x2, b.x2) + ROOM - Math.max(a.x1, b.x1);
  const y = Math.min(a.y2, b.y2) + ROOM - Math.max(a.y1, b.y1);
  return x > 0 && y > 0 ? Math.min(x, y) : 0;
}

/**
 * A force layout spaces nodes, not their captions: at three hops names and relationship labels
 * land on each other. Push apart, a little at a time, the nodes that carry two overlapping
 * captions (an edge's caption moves with its two ends; a node both captions share stays).
 */
export function separateLabels(cy: cytoscape.Core, rounds = 400): void {
  for (let round = 0; round < rounds; round++) {
    const items = labelBoxes(cy);
    const shift = new Map<string, { x: number; y: number }>();
    for (let i = 0; i < items.length; i++) {
      for (let j = i + 1; j < items.length; j++) {
        const a = items[i];
        const b = items[j];
        const depth = overlap(a.box, b.box);
        if (!depth) continue;
        let dx = (a.box.x1 + a.box.x2 - b.box.x1 - b.box.x2) / 2;
        let dy = (a.box.y1 + a.box.y2 - b.box.y1 - b.box.y2) / 2;
        if (Math.abs(dx) < 0.5 && Math.abs(dy) < 0.5) [dx, dy] = [i % 2 ? 1 : -1, 1];
        const len = Math.hypot(dx, dy);
        const step = depth / 2 + 4;
        const mine = a.owners.filter((o) => !b.owners.includes(o));
        const theirs = b.owners.filter((o) => !a.owners.includes(o));
        // A caption over its own edge's end (a name on the label of its relationship): only the
        // other side can move, so it moves the whole way.
        const whole = mine.length === 0 || theirs.length === 0 ? 2 : 1;
        for (const [ids, sign] of [[mine, whole], [theirs, -whole]] as [string[], number][]) {
          for (const id of ids) {
            const s = shift.get(id) ?? { x: 0, y: 0 };
            shift.set(id, { x: s.x + (sign * step * dx) / len, y: s.y + (sign * step * dy) / len });
          }
        }
      }
    }
    if (shift.size === 0) return;
    cy.batch(() => {
      for (const [id, d] of shift) {
        const node = cy.getElementById(id);
        const p = node.position();
        node.position({ x: p.x + d.x, y: p.y + d.y });
      }
    });
  }
}

function anyOverlap(cy: cytoscape.Core): boolean {
  const items = labelBoxes(cy);
  for (let i = 0; i < items.length; i++) for (let j = i + 1; j < items.length; j++) if (overlap(items[i].box, items[j].box)) return true;
  return false;
}

/**
 * Captions that the nudging cannot part (a crowded hub pushes back as much as it is pushed) are
 * parted for certain by spreading the whole picture: every distance between nodes and edge
 * midpoints grows while the captions keep their size; the picture is fitted to the screen after.
 */
export function clearLabels(cy: cytoscape.Core): void {
  separateLabels(cy);
  for (let spread = 0; spread < 16 && anyOverlap(cy); spread++) {
    const nodes = cy.nodes(":visible");
    const box = nodes.boundingBox({ includeLabels: false });
    const cx = (box.x1 + box.x2) / 2;
    const cy0 = (box.y1 + box.y2) / 2;
    cy.batch(() => {
      nodes.forEach((n) => {
        const p = n.position();
        n.position({ x: cx + (p.x - cx) * 1.3, y: cy0 + (p.y - cy0) * 1.3 });
      });
    });
    separateLabels(cy, 50);
  }
}

interface NodeInfo {
  node: NetNode;
  label: string;
  expanded: boolean;
}

export async function renderNetwork(root: HTMLElement, id: string, params: URLSearchParams): Promise<void> {
  if (!id) {
    const form = h(
      "form",
      { class: "card", id: "network-start" },
      h("h1", {}, t("navNetwork")),
      h("label", {}, t("personId"), h("input", { name: "id", id: "network-id", placeholder: "person:…" })),
      h("button", { type: "submit" }, t("open")),
      h("p", { class: "hint" }, t("networkStartHint")),
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const value = (form.elements.namedItem("id") as HTMLInputElement).value.trim();
      if (value) navigate(`network/${encodeURIComponent(value)}`);
    });
    return mount(root, form);
  }
  const selectedTypes = new Set((params.get("types") ?? REL_TYPES.join(",")).split(","));
  const status = h("div", { id: "network-status" });
  const graph = h("div", { id: "graph", class: "graph", role: "img", "aria-label": t("networkGraph") });
  const list = h("ul", { id: "network-nodes", class: "node-list" });
  const details = h("div", { id: "node-details", class: "card" }, h("p", { class: "hint" }, t("selectNode")));
  const filters = h(
    "fieldset",
    { id: "rel-filters", class: "filters" },
    h("legend", {}, t("relTypes")),
    REL_TYPES.map((type) =>
      h(
        "label",
        {},
        h("input", {
          type: "checkbox",
          value: type,
          "data-rel": type,
          checked: selectedTypes.has(type),
          onchange: (e: Event) => {
            const box = e.target as HTMLInputElement;
            if (box.checked) selectedTypes.add(type);
            else selectedTypes.delete(type);
            applyFilter();
          },
        }),
        ` ${code("relType", type)}`,
      ),
    ),
  );
  mount(
    root,
    h(
      "div",
      { class: "network" },
      h(
        "div",
        { class: "network-main" },
        h("h1", {}, t("navNetwork")),
        filters,
        h(
          "div",
          { class: "row" },
          h("button", { type: "button", id: "expand-all", onclick: () => void expandFrontier() }, t("expandHop")),
          h("button", { type: "button", id: "fit", onclick: () => cy.fit(undefined, 30) }, t("fit")),
        ),
        status,
        graph,
      ),
      h("aside", { class: "network-side" }, details, h("h2", {}, t("nodes")), list),
    ),
  );

  const nodes = new Map<string, NodeInfo>();
  let pseudonymised = false;
  const cy = cytoscape({
    container: graph,
    wheelSensitivity: 0.3,
    maxZoom: 1.4,
    style: [
      {
        selector: "node",
        style: {
          label: "data(label)",
          "background-color": "#4a7bb7",
          color: "#1d2733",
          "font-size": 12,
          "text-valign": "bottom",
          "text-margin-y": 4,
          "text-background-color": "#ffffff",
          "text-background-opacity": 0.85,
          "text-background-padding": "2px",
          width: 28,
          height: 28,
        },
      },
      { selector: "node[kind = 'Household']", style: { shape: "round-rectangle", "background-color": "#8a9a5b" } },
      { selector: "node[?root]", style: { "background-color": "#c0392b", width: 36, height: 36 } },
      { selector: "node[?expanded]", style: { "border-width": 3, "border-color": "#1d2733" } },
      { selector: "node:selected", style: { "border-width": 4, "border-color": "#f1c40f" } },
      {
        selector: "edge",
        style: {
          width: 2,
          label: "data(label)",
          "font-size": 10,
          "text-rotation": "autorotate",
          "text-background-color": "#ffffff",
          "text-background-opacity": 0.85,
          "text-background-padding": "1px",
          "curve-style": "bezier",
          "target-arrow-shape": "triangle",
          "line-color": "#9aa7b5",
          "target-arrow-color": "#9aa7b5",
        },
      },
      { selector: "edge[type = 'GUARDIAN_OF']", style: { "line-color": "#c0392b", "target-arrow-color": "#c0392b" } },
      { selector: "edge[type = 'MEMBER_OF']", style: { "line-style": "dashed" } },
    ],
    layout: { name: "grid" },
  });
  (graph as HTMLElement & { cy?: cytoscape.Core }).cy = cy;

  function applyFilter(): void {
    cy.edges().forEach((edge) => {
      edge.style("display", selectedTypes.has(edge.data("type") as string) ? "element" : "none");
    });
    // A node reachable only through hidden links is hidden too (the root always stays).
    cy.nodes().forEach((node) => {
      const visible = node.data("root") || node.connectedEdges().some((e) => selectedTypes.has(e.data("type") as string));
      node.style("display", visible ? "element" : "none");
    });
    renderList();
  }

  function layout(): void {
    cy.layout({
      name: "cose",
      animate: false,
      randomize: false,
      nodeDimensionsIncludeLabels: true,
      nodeRepulsion: () => 60000,
      idealEdgeLength: () => 160,
      nodeOverlap: 40,
      padding: 30,
    }).run();
    clearLabels(cy);
    cy.fit(undefined, 30);
  }
  // The browser tests part the captions again from positions they choose.
  (graph as HTMLElement & { clearLabels?: () => void }).clearLabels = () => clearLabels(cy);

  function addNode(node: NetNode, root: boolean): void {
    if (nodes.has(node.id)) return;
    const label = node.label ?? shortId(node.id);
    nodes.set(node.id, { node, label, expanded: false });
    cy.add({ group: "nodes", data: { id: node.id, label, kind: node.kind, root, expanded: false } });
  }

  function addEdge(edge: NetEdge): void {
    if (cy.getElementById(edge.id).nonempty()) return;
    const detail = edge.properties.find((p) => (p.name === "role" || p.name === "kind" || p.name === "relationToHead") && p.decision !== "deny");
    const label =
      detail && typeof detail.value === "string" && !detail.value.includes("*")
        ? code(PROP_GROUP[detail.name] ?? "role", detail.value)
        : code("relType", edge.type);
    // Two relationships between the same two people (a father who is also the guardian): one
    // caption for both, on the first edge, or their captions would sit on each other.
    const twin = cy
      .getElementById(edge.source)
      .edgesWith(cy.getElementById(edge.target))
      .filter((e) => Boolean(e.data("label")))
      .first();
    if (twin.nonempty()) {
      if (!String(twin.data("label")).split(" · ").includes(label)) twin.data("label", `${twin.data("label")} · ${label}`);
      cy.add({ group: "edges", data: { id: edge.id, source: edge.source, target: edge.target, type: edge.type, label: "" } });
      return;
    }
    cy.add({ group: "edges", data: { id: edge.id, source: edge.source, target: edge.target, type: edge.type, label } });
  }

  /** Load `depth` hops around a node and merge them into the picture. */
  async function expand(nodeId: string, depth = 1): Promise<void> {
    const info = nodes.get(nodeId);
    if (info && info.expanded && depth === 1) return;
    mount(status, notice(t("loadingLinks")));
    const r = await gql<{ network: Net }>(NETWORK, { start: nodeId, depth, types: [...selectedTypes] });
    const err = topLevelError(r);
    if (err || !r.data?.network) {
      mount(status, notice(err ? errorText(err) : t("notFound"), "error"));
      return;
    }
    const net = r.data.network;
    const first = nodes.size === 0;
    pseudonymised = net.pseudonymised;
    for (const n of net.nodes) addNode(n, first && n.id === net.start);
    for (const e of net.edges) if (cy.getElementById(e.source).nonempty() && cy.getElementById(e.target).nonempty()) addEdge(e);
    // Every node within depth-1 hops of the start has had all its links loaded.
    const done = depth === 1 ? [net.start] : cy.getElementById(net.start).closedNeighborhood().nodes().map((n) => n.id());
    for (const id of done) {
      const known = nodes.get(id);
      if (known && known.node.kind === "Person") {
        known.expanded = true;
        cy.getElementById(id).data("expanded", true);
      }
    }
    layout();
    applyFilter();
    mount(
      status,
      notice(t("networkCount", { nodes: nodes.size, links: cy.edges().length }) + (pseudonymised ? ` · ${t("pseudonymised")}` : ""), "ok"),
    );
    select(net.start);
  }

  async function expandFrontier(): Promise<void> {
    const frontier = [...nodes.values()].filter((n) => n.node.kind === "Person" && !n.expanded).map((n) => n.node.id);
    for (const nodeId of frontier) await expand(nodeId);
  }

  function select(nodeId: string): void {
    const info = nodes.get(nodeId);
    if (!info) return;
    cy.nodes().unselect();
    cy.getElementById(nodeId).select();
    const isPerson = info.node.kind === "Person";
    mount(
      details,
      h("h2", { id: "selected-name" }, info.label),
      h("p", { class: "hint" }, code("nodeKind", info.node.kind), pseudonymised && info.node.id.includes("~") ? ` · ${t("pseudonym")}` : ""),
      facts(info.node.properties.filter((p) => p.name !== "sources" && p.name !== "claims").map((p) => [propLabel(p.name), propView(p, `node.${p.name}`)])),
      h(
        "div",
        { class: "row" },
        isPerson && !info.expanded
          ? h("button", { type: "button", id: "expand-selected", onclick: () => void expand(nodeId) }, t("expand"))
          : null,
        isPerson
          ? h("a", { href: href(`person/${encodeURIComponent(nodeId)}`), class: "button", id: "open-profile" }, t("openProfile"))
          : null,
      ),
    );
    renderList();
  }

  function renderList(): void {
    mount(
      list,
      [...nodes.values()]
        .filter((n) => cy.getElementById(n.node.id).style("display") !== "none")
        .map((n) =>
          h(
            "li",
            { "data-node": n.node.id, "data-kind": n.node.kind, class: cy.getElementById(n.node.id).selected() ? "selected" : "" },
            h("button", { type: "button", class: "link node-select", onclick: () => select(n.node.id) }, n.label),
            n.node.kind === "Person" && !n.expanded
              ? h("button", { type: "button", class: "node-expand", onclick: () => void expand(n.node.id), "aria-label": `${t("expand")} ${n.label}` }, t("expand"))
              : h("span", { class: "hint" }, n.node.kind === "Person" ? ` ${t("expanded")}` : ` ${code("nodeKind", n.node.kind)}`),
          ),
        ),
    );
  }

  cy.on("tap", "node", (event) => select(event.target.id() as string));
  cy.on("dbltap", "node", (event) => void expand(event.target.id() as string));
  await expand(id, Number(params.get("depth") ?? "1"));
}
