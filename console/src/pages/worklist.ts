// Cases 个案: the screening worklist (预警排查) of a division with the rules that hold for each
// child, this agency's open case steps with their deadlines, and its protection cases. Each
// section asks the API on its own, so a role refused one (say the police, who have no
// read_worklist) still sees the others, with the refusal said in words.

import { gql, topLevelError } from "../api";
import { type Child, h, mount, notice } from "../dom";
import { href } from "../router";
import { current } from "../session";
import { divisionLabel, divisionNames, keyLabel, refused } from "./statistics";

interface Entry {
  personId: string;
  name: string | null;
  division: string;
  categories: string[];
  priority: number;
  lastVisit: string | null;
  rules: string[];
  reasons: string[];
}

interface Worklist {
  division: string;
  total: number;
  byRule: { key: string; count: number }[];
  entries: Entry[];
}

interface Step {
  id: string;
  caseId: string;
  kind: string | null;
  status: string | null;
  dueAt: string | null;
  overdue: boolean;
}

interface Case {
  id: string;
  childId: string;
  situation: string | null;
  status: string | null;
  riskLevel: string | null;
  division: string | null;
  openedAt: string | null;
  agencyId: string | null;
  child: { name: string | null } | null;
}

const PAGE = 50;

const WORKLIST = `query Worklist($division: String!, $rule: String, $first: Int!, $offset: Int!) {
  worklist(division: $division, rule: $rule, first: $first, offset: $offset) {
    division total byRule { key count }
    entries { personId name division categories priority lastVisit rules reasons }
  }
}`;
const RECOMPUTE = `mutation Rescreen($division: String!) { recomputeClassification(division: $division) { children seconds } }`;
const STEPS = `query MySteps { myOpenSteps { id caseId kind status dueAt overdue } }`;
const CASES = `query MyCases($openOnly: Boolean!) {
  protectionCases(openOnly: $openOnly) {
    id childId situation status riskLevel division openedAt agencyId child { name }
  }
}`;

function when(iso: string | null): string {
  return iso ? new Date(iso).toLocaleString() : "—";
}

function childLink(id: string, label: string | null): HTMLElement {
  return h("a", { href: href(`person/${encodeURIComponent(id)}`), class: "person-link" }, label ?? id);
}

export async function renderWorklist(root: HTMLElement): Promise<void> {
  const session = current();
  const home = session?.claims.jurisdiction ?? "";
  const divisionInput = h("input", {
    id: "wl-division",
    name: "division",
    value: home,
    inputmode: "numeric",
    pattern: "[0-9]{12}",
    required: true,
  });
  const ruleSelect = h("select", { id: "wl-rule", name: "rule" }, h("option", { value: "" }, "All rules 全部"));
  const screening = h("div", { id: "worklist" }, notice("Loading…"));
  const status = h("div", { id: "wl-status" });
  const steps = h("div", { id: "steps" }, notice("Loading…"));
  const cases = h("div", { id: "cases" }, notice("Loading…"));
  const openOnly = h("input", { type: "checkbox", id: "cases-open-only", checked: true });

  const state = { division: home, rule: "", shown: PAGE };
  const reload = () => loadWorklist(screening, ruleSelect, state);

  const form = h(
    "form",
    {
      id: "worklist-filter",
      class: "row",
      onsubmit: (e: Event) => {
        e.preventDefault();
        state.division = divisionInput.value.trim();
        state.rule = ruleSelect.value;
        state.shown = PAGE;
        void reload();
      },
    },
    h("label", {}, "Division 区划 (12 digits)", divisionInput),
    h("label", {}, "Rule 规则", ruleSelect),
    h("button", { type: "submit", id: "wl-submit" }, "Show 查看"),
    h(
      "button",
      {
        type: "button",
        id: "wl-recompute",
        title: "Reclassify and rescreen every child of the division from the current facts",
        onclick: async (e: Event) => {
          const button = e.currentTarget as HTMLButtonElement;
          button.disabled = true;
          mount(status, notice("Rescreening…"));
          try {
            const division = divisionInput.value.trim();
            const r = await gql<{ recomputeClassification: { children: number; seconds: number } }>(RECOMPUTE, {
              division,
            });
            const err = topLevelError(r) ?? r.errors[0];
            if (err || !r.data) {
              mount(status, err ? refused(err, "rescreen a division (recompute_classification)") : notice("No data.", "error"));
              return;
            }
            const done = r.data.recomputeClassification;
            mount(status, notice(`Rescreened ${done.children} ${done.children === 1 ? "child" : "children"} in ${done.seconds.toFixed(2)} s.`, "ok"));
            state.division = division;
            state.rule = "";
            state.shown = PAGE;
            await reload();
          } finally {
            button.disabled = false;
          }
        },
      },
      "Rescreen 重新排查",
    ),
  );

  mount(
    root,
    h("h1", {}, "Cases 个案"),
    h(
      "section",
      { class: "card", "aria-labelledby": "h-screening" },
      h("h2", { id: "h-screening" }, "Screening worklist 预警排查"),
      form,
      status,
      screening,
      h("button", {
        type: "button",
        id: "wl-more",
        class: "link",
        hidden: true,
        onclick: () => {
          state.shown += PAGE;
          void reload();
        },
      }, "Show more 更多"),
    ),
    h(
      "section",
      { class: "card", "aria-labelledby": "h-steps" },
      h("h2", { id: "h-steps" }, "My open steps 待办 (deadlines)"),
      steps,
    ),
    h(
      "section",
      { class: "card", "aria-labelledby": "h-cases" },
      h("h2", { id: "h-cases" }, "Protection cases 保护个案"),
      h("label", { class: "inline" }, openOnly, "Open cases only 仅在办"),
      cases,
    ),
  );
  openOnly.addEventListener("change", () => void loadCases(cases, steps, openOnly.checked));
  await Promise.all([reload(), loadCases(cases, steps, true)]);
}

async function loadWorklist(
  out: HTMLElement,
  ruleSelect: HTMLSelectElement,
  state: { division: string; rule: string; shown: number },
): Promise<void> {
  const more = document.getElementById("wl-more");
  if (more) more.hidden = true;
  if (!/^\d{12}$/.test(state.division)) return mount(out, notice("A division is a 12-digit code.", "error"));
  mount(out, notice("Loading…"));
  const r = await gql<{ worklist: Worklist }>(WORKLIST, {
    division: state.division,
    rule: state.rule || null,
    first: Math.min(state.shown, 200),
    offset: 0,
  });
  const err = topLevelError(r);
  out.dataset.state = err || !r.data ? "refused" : "loaded";
  if (err || !r.data) {
    // A role without the worklist has nothing to filter or rescreen here.
    const filter = document.getElementById("worklist-filter");
    if (filter && err?.extensions?.reason === "capability_missing") filter.hidden = true;
    return mount(out, err ? refused(err, "read the screening worklist (read_worklist)") : notice("No data."));
  }
  const wl = r.data.worklist;
  const names = await divisionNames([wl.division, ...wl.entries.map((e) => e.division)]);

  // The rule filter offers the rules that hold somewhere in the division, with their counts.
  const chosen = state.rule;
  mount(ruleSelect, h("option", { value: "" }, "All rules 全部"));
  for (const { key, count } of wl.byRule) {
    ruleSelect.append(h("option", { value: key, selected: key === chosen }, `${key} (${count})`));
  }
  if (chosen && !wl.byRule.some((b) => b.key === chosen)) {
    ruleSelect.append(h("option", { value: chosen, selected: true }, `${chosen} (0)`));
  }

  const summary = h(
    "p",
    { class: "hint", id: "wl-summary" },
    `${wl.total} ${wl.total === 1 ? "child" : "children"} at risk in ${divisionLabel(wl.division, names)}`,
    chosen ? ` under rule ${chosen}` : "",
    ", highest priority first.",
  );
  if (wl.entries.length === 0) {
    return mount(
      out,
      summary,
      notice("No child on the worklist. If facts changed recently, Rescreen 重新排查 reclassifies the division."),
    );
  }
  mount(
    out,
    summary,
    h(
      "table",
      { class: "list", id: "worklist-table" },
      h("caption", { class: "sr-only" }, "Children at risk, with the screening rules that hold for each"),
      h(
        "thead",
        {},
        h("tr", {}, ["Priority", "Child", "Division", "Categories", "Reasons 原因", "Last visit"].map((c) => h("th", { scope: "col" }, c))),
      ),
      h(
        "tbody",
        {},
        wl.entries.map((e) =>
          h(
            "tr",
            { "data-person": e.personId, "data-rules": e.rules.join(" ") },
            h("td", { class: "priority" }, e.priority),
            h("td", {}, childLink(e.personId, e.name)),
            h("td", {}, divisionLabel(e.division, names)),
            h("td", { class: "categories" }, e.categories.length ? e.categories.map(keyLabel).join(", ") : "—"),
            h(
              "td",
              { class: "reasons" },
              h(
                "ul",
                { class: "reason-list" },
                e.reasons.map((line) => h("li", { class: "reason-zh" }, line)),
              ),
            ),
            h("td", {}, e.lastVisit ?? h("span", { class: "empty" }, "never 未走访")),
          ),
        ),
      ),
    ),
  );
  if (more) more.hidden = wl.entries.length >= wl.total || state.shown >= 200;
}

async function loadCases(casesOut: HTMLElement, stepsOut: HTMLElement, openOnly: boolean): Promise<void> {
  const [cr, sr] = await Promise.all([
    gql<{ protectionCases: Case[] }>(CASES, { openOnly }),
    gql<{ myOpenSteps: Step[] }>(STEPS),
  ]);
  const childOf = new Map<string, Case>();
  const cerr = topLevelError(cr);
  if (cerr || !cr.data) {
    mount(casesOut, cerr ? refused(cerr, "read protection cases") : notice("No data."));
  } else {
    for (const c of cr.data.protectionCases) childOf.set(c.id, c);
    mount(casesOut, casesTable(cr.data.protectionCases));
  }
  const serr = topLevelError(sr);
  if (serr || !sr.data) {
    mount(stepsOut, serr ? refused(serr, "read case steps") : notice("No data."));
  } else {
    mount(stepsOut, stepsTable(sr.data.myOpenSteps, childOf));
  }
  casesOut.dataset.state = "loaded";
  stepsOut.dataset.state = "loaded";
}

function stepsTable(steps: Step[], cases: Map<string, Case>): Child {
  if (steps.length === 0) return notice("No open steps for your agency.");
  const overdue = steps.filter((s) => s.overdue).length;
  return [
    overdue
      ? h("p", { class: "notice error", role: "alert", id: "steps-overdue" }, `${overdue} overdue ${overdue === 1 ? "step" : "steps"} 逾期`)
      : null,
    h(
      "table",
      { class: "list", id: "steps-table" },
      h("caption", { class: "sr-only" }, "Open steps of your agency, earliest deadline first"),
      h("thead", {}, h("tr", {}, ["Due 期限", "Step", "Case", "Child", "State"].map((c) => h("th", { scope: "col" }, c)))),
      h(
        "tbody",
        {},
        steps.map((s) => {
          const c = cases.get(s.caseId);
          return h(
            "tr",
            { "data-step": s.id, "data-case": s.caseId, class: s.overdue ? "overdue" : "" },
            h("td", { class: "due" }, when(s.dueAt), s.overdue ? h("span", { class: "badge failed" }, " overdue 逾期") : null),
            h("td", { class: "kind" }, s.kind ?? "—"),
            h("td", {}, h("code", {}, s.caseId), c?.situation ? ` ${c.situation}` : ""),
            h("td", {}, c ? childLink(c.childId, c.child?.name ?? null) : "—"),
            h("td", {}, s.status ?? "—"),
          );
        }),
      ),
    ),
  ];
}

function casesTable(rows: Case[]): Child {
  if (rows.length === 0) return notice("No protection cases for your agency.");
  return h(
    "table",
    { class: "list", id: "cases-table" },
    h("caption", { class: "sr-only" }, "Protection cases your agency handles or took part in"),
    h(
      "thead",
      {},
      h("tr", {}, ["Opened", "Child", "Situation", "Status", "Risk", "Lead agency"].map((c) => h("th", { scope: "col" }, c))),
    ),
    h(
      "tbody",
      {},
      rows.map((c) =>
        h(
          "tr",
          { "data-case": c.id, "data-child": c.childId },
          h("td", {}, when(c.openedAt)),
          h("td", {}, childLink(c.childId, c.child?.name ?? null)),
          h("td", { class: "situation" }, c.situation ?? "—"),
          h("td", { class: "status" }, c.status ?? "—"),
          h("td", {}, c.riskLevel ?? "—"),
          h("td", {}, c.agencyId ?? "—"),
        ),
      ),
    ),
  );
}
