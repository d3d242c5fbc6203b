// Statistics 统计: counts of children in a division by sub-division (down to the village), and
// over time by category, guardianship arrangement, schooling and case status, each drawn with
// chart.js (to a canvas: nothing inline, so the Content-Security-Policy holds) and followed by
// the same figures as a table for screen readers and for copying. The figures come from
// `classificationCounts` and `statistics` under the caller's policy; nothing is computed here.

import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LineController,
  LineElement,
  LinearScale,
  PointElement,
  Tooltip,
} from "chart.js";

import { type GqlError, type GqlResult, errorText, gql, topLevelError } from "../api";
import { type Child, h, mount, notice, startLoad } from "../dom";
import { code, fmtDateTime, type MessageKey, t } from "../i18n";
import { can, cachedMe } from "../me";
import { current } from "../session";
import { COUNTS, DIVISION_BATCH, DIVISION_NAMES, DIVISIONS, SERIES } from "../documents";

Chart.register(BarController, BarElement, CategoryScale, Legend, LineController, LineElement, LinearScale, PointElement, Tooltip);

interface KeyCount {
  key: string;
  count: number;
}

interface DivisionCounts {
  division: string;
  counts: KeyCount[];
}

interface StatPoint {
  takenAt: string;
  counts: KeyCount[];
}

/** The over-time groups, in the order shown. */
export const GROUPS: [string, MessageKey][] = [
  ["CATEGORY", "groupCategory"],
  ["ARRANGEMENT", "groupArrangement"],
  ["SCHOOLING", "groupSchooling"],
  ["CASE_STATUS", "groupCaseStatus"],
  ["DIVISION", "groupDivision"],
];

const PALETTE = ["#b03a2e", "#1f5fa8", "#1e7b4a", "#9a6a00", "#6b3fa0", "#0f7c86", "#c2571a", "#5d6b7a", "#a0306b", "#3a4a5c"];

export function keyLabel(key: string): string {
  return code("category", key);
}

// ---- division names ---------------------------------------------------------------------------

// Division names are public (the statistical division codes' published names): kept for the
// tab's life in sessionStorage, so that opening one file after another asks for them once.
const NAMES_KEY = "shouhu.divisionNames";
const names = new Map<string, string>(JSON.parse(sessionStorage.getItem(NAMES_KEY) ?? "[]") as [string, string][]);

/** Names of divisions by code, looked up once per code (a missing name stays the code). */
export async function divisionNames(codes: string[]): Promise<Map<string, string>> {
  const wanted = [...new Set(codes.filter((c) => /^\d{12}$/.test(c) && !names.has(c)))];
  if (wanted.length === 0) return names;
  for (let i = 0; i < wanted.length; i += DIVISION_BATCH) {
    const batch = wanted.slice(i, i + DIVISION_BATCH);
    const vars = Object.fromEntries(batch.map((c, n) => [`c${n}`, c]));
    const r = await gql<Record<string, { code: string | null; name: string | null } | null>>(DIVISION_NAMES[batch.length - 1], vars);
    batch.forEach((c, n) => names.set(c, r.data?.[`d${n}`]?.name ?? ""));
  }
  sessionStorage.setItem(NAMES_KEY, JSON.stringify([...names].filter(([, name]) => name)));
  return names;
}

/** Names learnt by another query (the division picker's list), kept as `divisionNames` keeps them. */
export function rememberDivisionNames(pairs: [string, string][]): void {
  for (const [c, name] of pairs) if (name) names.set(c, name);
  sessionStorage.setItem(NAMES_KEY, JSON.stringify([...names].filter(([, name]) => name)));
}

export function divisionLabel(code: string, known: Map<string, string> = names): string {
  const name = known.get(code);
  return name ? `${name} (${code})` : code;
}

/** Code digits per level: province, city, county, township, village. */
const LEVELS = [2, 4, 6, 9, 12];

function significant(code: string): number {
  return LEVELS.find((n) => /^0*$/.test(code.slice(n))) ?? 12;
}

/** How deep a code sits: 0 a province … 4 a village. */
export function divisionDepth(code: string): number {
  return LEVELS.indexOf(significant(code));
}

/** The chain from the caller's own division down to `code` (for going back up). */
function trail(home: string, code: string): string[] {
  const out: string[] = [];
  const top = significant(home);
  for (const n of LEVELS) {
    if (n < top || n > significant(code)) continue;
    out.push(code.slice(0, n).padEnd(12, "0"));
  }
  return out.length ? out : [code];
}

// ---- charts ---------------------------------------------------------------------------------------

let charts: Chart[] = [];

function dropCharts(): void {
  for (const c of charts) c.destroy();
  charts = [];
}

function chart(
  id: string,
  label: string,
  type: "bar" | "line",
  labels: string[],
  series: { key: string; values: number[] }[],
): HTMLElement {
  const canvas = h("canvas", { id: `chart-${id}`, role: "img", "aria-label": t("chartAria", { label }) });
  const box = h("div", { class: "chart-box" }, canvas);
  // Drawn once the canvas is in the document, so chart.js can measure its box.
  queueMicrotask(() => {
    charts.push(
      new Chart(canvas, {
        type,
        data: {
          labels,
          datasets: series.map((s, i) => ({
            label: keyLabel(s.key),
            data: s.values,
            backgroundColor: PALETTE[i % PALETTE.length],
            borderColor: PALETTE[i % PALETTE.length],
            pointRadius: 3,
          })),
        },
        options: {
          animation: false,
          responsive: true,
          maintainAspectRatio: false,
          scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
          plugins: { legend: { position: "bottom" } },
        },
      }),
    );
  });
  return box;
}

/** The chart's figures as a table: one row per division or snapshot, one column per key. */
function table(
  id: string,
  caption: string,
  first: string,
  keys: { key: string; label: string }[],
  rows: { attrs: Record<string, string>; head: Child; values: number[] }[],
): HTMLElement {
  return h(
    "table",
    { class: "list stats", id: `table-${id}` },
    h("caption", {}, caption),
    h(
      "thead",
      {},
      h("tr", {}, h("th", { scope: "col" }, first), keys.map((k) => h("th", { scope: "col", class: "num", "data-key": k.key }, k.label))),
    ),
    h(
      "tbody",
      {},
      rows.map((r) =>
        h("tr", r.attrs, h("th", { scope: "row" }, r.head), r.values.map((v, i) => h("td", { class: "num", "data-key": keys[i].key }, v))),
      ),
    ),
  );
}

/** A refusal in words: which capability or scope is missing, not an error dump. */
export function refused(err: GqlError, what: string): HTMLElement {
  const session = current();
  if (err.extensions?.code === "FORBIDDEN" && err.extensions.reason === "out_of_scope") {
    return h("p", { class: "notice error refusal", role: "alert" }, t("outsideJurisdiction"));
  }
  if (err.extensions?.code === "FORBIDDEN") {
    const me = cachedMe();
    const who = me ? `${me.agencyName ?? code("agencyType", me.agencyType)}（${code("userRole", me.role)}）` : session ? code("userRole", session.claims.role) : "";
    return h("p", { class: "notice error refusal", role: "alert" }, t("refusedWhat", { who, what, reason: code("reason", err.extensions.reason ?? "policy") }));
  }
  return notice(errorText(err), "error");
}

// ---- the page ------------------------------------------------------------------------------------


export async function renderStatistics(root: HTMLElement, params?: URLSearchParams): Promise<void> {
  dropCharts();
  const home = current()?.claims.jurisdiction ?? "";
  const start = params?.get("division") ?? home;
  const input = h("input", { id: "stats-division", name: "division", value: start, inputmode: "numeric", pattern: "[0-9]{12}", required: true });
  const crumbs = h("nav", { id: "stats-trail", class: "row", "aria-label": t("divisionLevels") });
  const out = h("div", { id: "stats" }, notice(t("loading")));
  const show = (code: string) => {
    input.value = code;
    void load(out, crumbs, home, code, show);
  };
  mount(
    root,
    h("h1", {}, t("statisticsTitle")),
    h(
      "form",
      {
        id: "stats-filter",
        class: "row",
        onsubmit: (e: Event) => {
          e.preventDefault();
          show(input.value.trim());
        },
      },
      divisionPicker("stats-division", show),
      h("label", {}, t("divisionCode"), input),
      h("button", { type: "submit", id: "stats-submit" }, t("show")),
    ),
    crumbs,
    out,
  );
  await load(out, crumbs, home, start, show);
}

async function load(
  out: HTMLElement,
  crumbs: HTMLElement,
  home: string,
  division: string,
  show: (code: string) => void,
): Promise<void> {
  dropCharts();
  // The division chosen while an earlier one loads is the one shown, whichever answer comes last.
  const newest = startLoad(out);
  if (!/^\d{12}$/.test(division)) return mount(out, notice(t("divisionIs12"), "error"));
  mount(out, notice(t("loading")));
  // Over time needs read_statistics: a role without it is not offered that part at all.
  const overTimeAllowed = can(cachedMe(), "read_statistics");
  const [counts, ...series] = await Promise.all([
    gql<{ classificationCounts: DivisionCounts[] }>(COUNTS, { division }),
    ...(overTimeAllowed ? GROUPS.map(([group]) => gql<{ statistics: StatPoint[] }>(SERIES, { division, group })) : []),
  ]);
  const codes = [division, ...trail(home, division)];
  if (counts.data) codes.push(...counts.data.classificationCounts.map((d) => d.division));
  for (const s of series) for (const p of s.data?.statistics ?? []) codes.push(...p.counts.map((c) => c.key));
  const known = await divisionNames(codes);
  if (!newest()) return;

  mount(
    crumbs,
    trail(home, division).map((code) =>
      code === division
        ? h("strong", { "aria-current": "page" }, divisionLabel(code, known))
        : h("button", { type: "button", class: "link up", "data-division": code, onclick: () => show(code) }, divisionLabel(code, known)),
    ),
  );

  const sections: Child[] = [byDivision(counts, division, known, show)];
  // One refusal for the whole over-time part when the role lacks read_statistics.
  const firstErr = series.map((s) => topLevelError(s)).find((e) => e);
  if (!overTimeAllowed) {
    // nothing: the page offers what the role may read
  } else if (firstErr && series.every((s) => topLevelError(s))) {
    sections.push(
      h(
        "section",
        { class: "card", id: "series-refused" },
        h("h2", {}, t("overTime")),
        refused(firstErr, t("whatStatistics")),
      ),
    );
  } else {
    sections.push(h("div", { class: "stats-grid" }, GROUPS.map(([group, label], i) => overTime(group, t(label), series[i], known))));
  }
  mount(out, sections);
  out.dataset.division = division;
}

function byDivision(
  r: GqlResult<{ classificationCounts: DivisionCounts[] }>,
  division: string,
  known: Map<string, string>,
  show: (code: string) => void,
): HTMLElement {
  const section = h("section", { class: "card", id: "by-division", "aria-labelledby": "h-by-division" });
  const title = h("h2", { id: "h-by-division" }, t("byDivisionTitle", { division: divisionLabel(division, known) }));
  const err = topLevelError(r);
  if (err || !r.data) {
    mount(section, title, err ? refused(err, t("whatClassification")) : notice(t("noData")));
    return section;
  }
  const [total, ...below] = r.data.classificationCounts;
  const rows = below.length ? below : total ? [total] : [];
  const keys = [...new Set(rows.flatMap((d) => d.counts.map((c) => c.key)))].sort((a, b) =>
    a === "children" ? -1 : b === "children" ? 1 : a.localeCompare(b),
  );
  if (rows.length === 0 || keys.length === 0) {
    mount(section, title, notice(t("noChildrenClassified")));
    return section;
  }
  const value = (d: DivisionCounts, key: string) => d.counts.find((c) => c.key === key)?.count ?? 0;
  const village = significant(division) === 12;
  const tableRows: { attrs: Record<string, string>; head: Child; values: number[] }[] = rows.map((d) => ({
    attrs: { "data-division": d.division },
    head: [
      divisionLabel(d.division, known),
      !village && d.division !== division
        ? [" ", h("button", { type: "button", class: "link drill", "data-division": d.division, onclick: () => show(d.division) }, t("openLower"))]
        : null,
    ],
    values: keys.map((k) => value(d, k)),
  }));
  if (total && below.length) {
    tableRows.push({ attrs: { "data-division": "total", class: "total" }, head: t("total"), values: keys.map((k) => value(total, k)) });
  }
  mount(
    section,
    title,
    chart(
      "current",
      t("byDivisionChart"),
      "bar",
      rows.map((d) => known.get(d.division) || d.division),
      keys.map((k) => ({ key: k, values: rows.map((d) => value(d, k)) })),
    ),
    table(
      "current",
      t("byDivisionCaption"),
      t("colDivision"),
      keys.map((k) => ({ key: k, label: keyLabel(k) })),
      tableRows,
    ),
  );
  return section;
}

function overTime(
  group: string,
  label: string,
  r: GqlResult<{ statistics: StatPoint[] }>,
  known: Map<string, string>,
): HTMLElement {
  const id = group.toLowerCase().replace("_", "-");
  const section = h("section", { class: "card", id: `series-${id}`, "aria-labelledby": `h-${id}` });
  const title = h("h2", { id: `h-${id}` }, t("labelOverTime", { label }));
  const err = topLevelError(r);
  if (err || !r.data) {
    mount(section, title, err ? refused(err, t("whatStatistics")) : notice(t("noData")));
    return section;
  }
  const points = r.data.statistics;
  if (points.length === 0) {
    mount(section, title, notice(t("noSnapshots")));
    return section;
  }
  const keys = [...new Set(points.flatMap((p) => p.counts.map((c) => c.key)))].sort();
  const at = points.map((p) => fmtDateTime(p.takenAt));
  const value = (p: StatPoint, key: string) => p.counts.find((c) => c.key === key)?.count ?? 0;
  const name = (k: string) => (group === "DIVISION" ? divisionLabel(k, known) : keyLabel(k));
  mount(
    section,
    title,
    chart(
      id,
      t("labelOverTime", { label }),
      points.length === 1 ? "bar" : "line",
      at,
      keys.map((k) => ({ key: group === "DIVISION" ? known.get(k) || k : k, values: points.map((p) => value(p, k)) })),
    ),
    table(
      id,
      t("perSnapshot", { label }),
      t("takenAt"),
      keys.map((k) => ({ key: k, label: name(k) })),
      points.map((p, i) => ({ attrs: { "data-taken-at": p.takenAt }, head: at[i], values: keys.map((k) => value(p, k)) })),
    ),
  );
  return section;
}

/**
 * The divisions of the caller's scope by their names, indented by level, so that a division is
 * chosen without knowing its code (search, Cases, Statistics, the cross-check), and the way
 * offered to roles that may not look people up by name (an analyst). Choosing one shows it. Left out when the caller's scope has no places to list
 * (a school, a court) or the list cannot be had; the code field stays either way.
 */
export function divisionPicker(id: string, onPick: (code: string) => void): HTMLElement {
  const select = h("select", { id: `${id}-pick`, disabled: true }, h("option", { value: "" }, t("pickDivisionLoading")));
  const label = h("label", { id: `${id}-picker` }, t("pickDivision"), select);
  select.addEventListener("change", () => {
    if (select.value) onPick(select.value);
  });
  void (async () => {
    let listed: { code: string | null; name: string | null }[] = [];
    try {
      const r = await gql<{ divisions: { code: string | null; name: string | null }[] }>(DIVISIONS);
      listed = r.data?.divisions ?? [];
    } catch {
      listed = [];
    }
    const found = listed.flatMap((d) => (d.code && /^\d{12}$/.test(d.code) ? [{ code: d.code, name: d.name ?? "" }] : []));
    if (found.length === 0) return label.remove();
    rememberDivisionNames(found.map((d) => [d.code, d.name]));
    const top = Math.min(...found.map((d) => divisionDepth(d.code)));
    mount(
      select,
      h("option", { value: "" }, t("pickDivisionPrompt")),
      found.map((d) => h("option", { value: d.code }, `${"\u3000".repeat(divisionDepth(d.code) - top)}${d.name || d.code}`)),
    );
    select.disabled = false;
  })();
  return label;
}
