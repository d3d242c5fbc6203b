// Cases 个案: the screening worklist (预警排查) of a division with the rules that hold for each
// child, this agency's open case steps with their deadlines, and its protection cases. Each
// section asks the API on its own, so a role refused one (say the police, who have no
// read_worklist) still sees the others, with the refusal said in words.

import { errorText, type GqlError, type GqlResult, Offline, gql, topLevelError } from "../api";
import { type Child, h, mount, notice, startLoad, submitting } from "../dom";
import { href } from "../router";
import { code, fmtDate, fmtDateTime, t } from "../i18n";
import { reasonLine } from "../i18n/evidence";
import { agencyNames, can, cachedMe } from "../me";
import { current } from "../session";
import { divisionLabel, divisionNames, divisionPicker, keyLabel, refused } from "./statistics";
import { MEASURE, MY_CASES, MY_STEPS, NOTIFY, RESCREEN, WORKLIST } from "../documents";

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
  policeAgencyId: string | null;
  /** The measures the case's situation allows (the domain's rule, protection/emergency.py). */
  allowedEmergencyActions: string[] | null;
  child: { name: string | null } | null;
}

const PAGE = 50;


function when(iso: string | null): string {
  return fmtDateTime(iso);
}

function childLink(id: string, label: string | null): HTMLElement {
  return h("a", { href: href(`person/${encodeURIComponent(id)}`), class: "person-link" }, label ?? t("nameNotPermitted"));
}

export async function renderWorklist(root: HTMLElement): Promise<void> {
  const session = current();
  const me = cachedMe();
  const screeningAllowed = can(me, "read_worklist");
  const home = session?.claims.jurisdiction ?? "";
  const divisionInput = h("input", {
    id: "wl-division",
    name: "division",
    value: home,
    inputmode: "numeric",
    pattern: "[0-9]{12}",
    required: true,
  });
  const ruleSelect = h("select", { id: "wl-rule", name: "rule" }, h("option", { value: "" }, t("allRules")));
  const screening = h("div", { id: "worklist" }, notice(t("loading")));
  const status = h("div", { id: "wl-status" });
  const steps = h("div", { id: "steps" }, notice(t("loading")));
  const cases = h("div", { id: "cases" }, notice(t("loading")));
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
    divisionPicker("wl-division", (code) => {
      divisionInput.value = code;
      form.requestSubmit();
    }),
    h("label", {}, t("divisionCode"), divisionInput),
    h("label", {}, t("rule"), ruleSelect),
    h("button", { type: "submit", id: "wl-submit" }, t("show")),
    h(
      "button",
      {
        type: "button",
        id: "wl-recompute",
        title: t("rescreenTitle"),
        hidden: !can(me, "recompute_classification"),
        onclick: submitting(async () => {
          mount(status, notice(t("rescreening")));
          const division = divisionInput.value.trim();
          let r: GqlResult<{ recomputeClassification: { children: number; seconds: number } }>;
          try {
            // Whole-division work: a county takes minutes, so the long bound (config.ts).
            r = await gql(RESCREEN, { division }, { long: true });
          } catch (failed) {
            if (!(failed instanceof Offline)) throw failed;
            mount(status, notice(failed.message, "error"));
            return;
          }
          const err = topLevelError(r) ?? r.errors[0];
          if (err || !r.data) {
            mount(status, err ? refused(err, t("whatRescreen")) : notice(t("noData"), "error"));
            return;
          }
          const done = r.data.recomputeClassification;
          mount(status, notice(t("rescreened", { n: done.children, s: done.seconds.toFixed(2) }), "ok"));
          state.division = division;
          state.rule = "";
          state.shown = PAGE;
          await reload();
        }),
      },
      t("rescreen"),
    ),
  );

  mount(
    root,
    h("h1", {}, t("casesTitle")),
    !screeningAllowed
      ? null
      : h(
      "section",
      { class: "card", "aria-labelledby": "h-screening" },
      h("h2", { id: "h-screening" }, t("screeningWorklist")),
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
      }, t("showMore")),
    ),
    h(
      "section",
      { class: "card", "aria-labelledby": "h-steps" },
      h("h2", { id: "h-steps" }, t("myOpenSteps")),
      steps,
    ),
    h(
      "section",
      { class: "card", "aria-labelledby": "h-cases" },
      h("h2", { id: "h-cases" }, t("protectionCases")),
      h("label", { class: "inline" }, openOnly, t("openOnly")),
      h("div", { id: "case-action-status" }),
      cases,
    ),
  );
  openOnly.addEventListener("change", () => void loadCases(cases, steps, openOnly.checked));
  await Promise.all([screeningAllowed ? reload() : Promise.resolve(), loadCases(cases, steps, true)]);
}

async function loadWorklist(
  out: HTMLElement,
  ruleSelect: HTMLSelectElement,
  state: { division: string; rule: string; shown: number },
): Promise<void> {
  const more = document.getElementById("wl-more");
  if (more) more.hidden = true;
  // The division picked (or the rescreen's reload) while the first list loads is the one shown.
  const newest = startLoad(out);
  if (!/^\d{12}$/.test(state.division)) return mount(out, notice(t("divisionIs12"), "error"));
  mount(out, notice(t("loading")));
  const r = await gql<{ worklist: Worklist }>(WORKLIST, {
    division: state.division,
    rule: state.rule || null,
    first: Math.min(state.shown, 200),
    offset: 0,
  });
  if (!newest()) return;
  const err = topLevelError(r);
  out.dataset.state = err || !r.data ? "refused" : "loaded";
  if (err || !r.data) {
    // A role without the worklist has nothing to filter or rescreen here.
    const filter = document.getElementById("worklist-filter");
    if (filter && err?.extensions?.reason === "capability_missing") filter.hidden = true;
    return mount(out, err ? refused(err, t("whatWorklist")) : notice(t("noData")));
  }
  const wl = r.data.worklist;
  const names = await divisionNames([wl.division, ...wl.entries.map((e) => e.division)]);
  if (!newest()) return;

  // The rule filter offers the rules that hold somewhere in the division, with their counts.
  const chosen = state.rule;
  mount(ruleSelect, h("option", { value: "" }, t("allRules")));
  for (const { key, count } of wl.byRule) {
    ruleSelect.append(h("option", { value: key, selected: key === chosen }, `${code("rule", key)}（${count}）`));
  }
  if (chosen && !wl.byRule.some((b) => b.key === chosen)) {
    ruleSelect.append(h("option", { value: chosen, selected: true }, `${code("rule", chosen)}（0）`));
  }

  const summary = h(
    "p",
    { class: "hint", id: "wl-summary" },
    t("worklistSummary", { n: wl.total, division: divisionLabel(wl.division, names) }),
    chosen ? t("underRule", { rule: code("rule", chosen) }) : "",
    t("highestFirst"),
  );
  if (wl.entries.length === 0) {
    return mount(
      out,
      summary,
      notice(t("noChildOnWorklist")),
    );
  }
  mount(
    out,
    summary,
    h(
      "table",
      { class: "list", id: "worklist-table" },
      h("caption", { class: "sr-only" }, t("worklistCaption")),
      h(
        "thead",
        {},
        h("tr", {}, [t("colPriority"), t("colChild"), t("colDivision"), t("colCategories"), t("colReasons"), t("colLastVisit")].map((c) => h("th", { scope: "col" }, c))),
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
                e.reasons.map((line) => h("li", { class: "reason-zh", "data-raw": line }, reasonLine(line))),
              ),
            ),
            h("td", {}, e.lastVisit ? fmtDate(e.lastVisit) : h("span", { class: "empty" }, t("neverVisited"))),
          ),
        ),
      ),
    ),
  );
  if (more) more.hidden = wl.entries.length >= wl.total || state.shown >= 200;
}

async function loadCases(casesOut: HTMLElement, stepsOut: HTMLElement, openOnly: boolean): Promise<void> {
  const newest = startLoad(casesOut);
  const [cr, sr] = await Promise.all([
    gql<{ protectionCases: Case[] }>(MY_CASES, { openOnly }),
    gql<{ myOpenSteps: Step[] }>(MY_STEPS),
  ]);
  if (!newest()) return;
  const childOf = new Map<string, Case>();
  const cerr = topLevelError(cr);
  if (cerr || !cr.data) {
    mount(casesOut, cerr ? refused(cerr, t("whatCases")) : notice(t("noData")));
  } else {
    for (const c of cr.data.protectionCases) childOf.set(c.id, c);
    const agencies = await agencyNames(cr.data.protectionCases.map((c) => c.agencyId));
    if (!newest()) return;
    mount(casesOut, casesTable(cr.data.protectionCases, agencies, () => loadCases(casesOut, stepsOut, openOnly)));
  }
  const serr = topLevelError(sr);
  if (serr || !sr.data) {
    mount(stepsOut, serr ? refused(serr, t("whatSteps")) : notice(t("noData")));
  } else {
    mount(stepsOut, stepsTable(sr.data.myOpenSteps, childOf));
  }
  casesOut.dataset.state = "loaded";
  stepsOut.dataset.state = "loaded";
}

function stepsTable(steps: Step[], cases: Map<string, Case>): Child {
  if (steps.length === 0) return notice(t("noOpenSteps"));
  const overdue = steps.filter((s) => s.overdue).length;
  return [
    overdue
      ? h("p", { class: "notice error", role: "alert", id: "steps-overdue" }, t("overdueSteps", { n: overdue }))
      : null,
    h(
      "table",
      { class: "list", id: "steps-table" },
      h("caption", { class: "sr-only" }, t("stepsCaption")),
      h("thead", {}, h("tr", {}, [t("colDue"), t("colStep"), t("colCase"), t("colChild"), t("colState")].map((c) => h("th", { scope: "col" }, c)))),
      h(
        "tbody",
        {},
        steps.map((s) => {
          const c = cases.get(s.caseId);
          return h(
            "tr",
            { "data-step": s.id, "data-case": s.caseId, class: s.overdue ? "overdue" : "" },
            h("td", { class: "due" }, when(s.dueAt), s.overdue ? h("span", { class: "badge failed" }, t("overdue")) : null),
            h("td", { class: "kind", "data-code": s.kind ?? "" }, code("step", s.kind)),
            h("td", { "data-case": s.caseId }, h("a", { href: href(`case/${encodeURIComponent(s.caseId)}`), class: "case-link" }, c?.situation ? code("situation", c.situation) : t("caseOther")), c?.openedAt ? h("small", {}, ` ${fmtDate(c.openedAt)}`) : null),
            h("td", {}, c ? childLink(c.childId, c.child?.name ?? null) : "—"),
            h("td", {}, code("stepStatus", s.status)),
          );
        }),
      ),
    ),
  ];
}

/** Measures that need nothing beyond the case (the others ask for a person, place or severity). */
const SIMPLE_MEASURES = [
  "order_parents_back",
  "admonish_parents",
  "contact_parents",
  "parents_unreachable",
  "missing_search_started",
  "child_found",
  "harm_stopped",
  "evidence_collected",
];

/** A workflow refusal in words, with what must come first when the server names it. */
function refusal(err: GqlError): string {
  // The measures that must come first: named by code in `needs` (the message is in the server's
  // language); an older server said them only in its English message.
  const needs = err.extensions?.needs;
  const first = Array.isArray(needs) ? needs.map(String) : /needs (.+) first/.exec(err.message)?.[1].split(/,\s*/);
  const list = first ? first.map((a) => code("emergencyAction", a.trim())).join("、") : "";
  if (list) return `${errorText(err)}（${t("needsFirst", { list })}）`;
  // A measure that is not one for the case's situation: the ones that are, in words.
  const allowed = err.extensions?.allowed;
  if (Array.isArray(allowed) && allowed.length) {
    return `${t("measureNotForSituation")}（${t("measuresAllowed", { list: allowed.map((a) => code("emergencyAction", String(a))).join("、") })}）`;
  }
  return errorText(err);
}

/**
 * 应急处置 for one case: record a measure, then notify the township (通报). Also offered in the
 * police inbox, beside the report's deadline. The measures offered are the ones the domain allows
 * for the case's situation (protection/emergency.py RULES, as `allowedEmergencyActions`); the
 * simple ones are the police's of the case alone (civil affairs records only placements, which
 * need a place and are not in this menu), as is the notification, so no other agency is offered
 * either.
 */
export function emergencyActions(
  c: Pick<Case, "id" | "status" | "policeAgencyId" | "allowedEmergencyActions">,
  reload: () => Promise<void>,
): HTMLElement | null {
  const me = cachedMe();
  if (c.status !== "emergency_response" || !can(me, "record_emergency_action")) return null;
  if (c.policeAgencyId && me && c.policeAgencyId !== me.agencyId) return null;
  const allowed = new Set(c.allowedEmergencyActions ?? SIMPLE_MEASURES);
  const offered = SIMPLE_MEASURES.filter((a) => allowed.has(a));
  const out = h("div", { class: "case-status" });
  const select = h(
    "select",
    { class: "measure", "aria-label": t("emergencyMeasure") },
    offered.map((a) => h("option", { value: a }, code("emergencyAction", a))),
  );
  const act = async (mutation: string, variables: Record<string, unknown>, done: string): Promise<void> => {
    // Said above the table, which is redrawn after a change.
    const target = document.getElementById("case-action-status") ?? out;
    let r: GqlResult<Record<string, unknown>>;
    try {
      r = await gql<Record<string, unknown>>(mutation, variables);
    } catch (failed) {
      // No answer: said where a refusal is (whether it was recorded is not known).
      if (!(failed instanceof Offline)) throw failed;
      return mount(target, notice(failed.message, "error"));
    }
    const err = topLevelError(r) ?? r.errors[0];
    if (err) return mount(target, notice(refusal(err), "error"));
    // Redrawn first, then said: a "recorded" seen before the redraw invited the next choice into
    // a select about to be replaced (the next click then sent the new select's first measure).
    await reload();
    mount(document.getElementById("case-action-status") ?? target, notice(done, "ok"));
  };
  return h(
    "div",
    { class: "case-actions", "data-case": c.id, "data-action-group": true },
    select,
    h(
      "button",
      {
        type: "button",
        class: "small record-measure",
        onclick: submitting(() =>
          act(
            MEASURE,
            { i: { caseId: c.id, action: select.value } },
            t("measureRecorded", { action: code("emergencyAction", select.value) }),
          )),
      },
      t("recordMeasure"),
    ),
    h(
      "button",
      {
        type: "button",
        class: "small notify-township",
        onclick: submitting(() => act(NOTIFY, { id: c.id }, t("townshipNotified"))),
      },
      t("notifyTownship"),
    ),
    out,
  );
}

function casesTable(rows: Case[], agencies: Map<string, string>, reload: () => Promise<void> = async () => {}): Child {
  if (rows.length === 0) return notice(t("noCases"));
  const acting = rows.some((c) => c.status === "emergency_response") && can(cachedMe(), "record_emergency_action");
  return h(
    "table",
    { class: "list", id: "cases-table" },
    h("caption", { class: "sr-only" }, t("casesCaption")),
    h(
      "thead",
      {},
      h("tr", {}, [t("colOpened"), t("colChild"), t("colSituation"), t("colStatus"), t("colRisk"), t("colLeadAgency"), acting ? t("colActionsCase") : null].filter((c): c is string => c !== null).map((c) => h("th", { scope: "col" }, c))),
    ),
    h(
      "tbody",
      {},
      rows.map((c) =>
        h(
          "tr",
          { "data-case": c.id, "data-child": c.childId },
          h("td", {}, when(c.openedAt), " ", h("a", { href: href(`case/${encodeURIComponent(c.id)}`), class: "case-link" }, t("openCaseFile"))),
          h("td", {}, childLink(c.childId, c.child?.name ?? null)),
          h("td", { class: "situation", "data-code": c.situation ?? "" }, code("situation", c.situation)),
          h("td", { class: "status", "data-code": c.status ?? "" }, code("caseStatus", c.status)),
          h("td", {}, code("risk", c.riskLevel)),
          h("td", { "data-agency": c.agencyId ?? "" }, c.agencyId ? agencies.get(c.agencyId) ?? t("unnamedAgency") : "—"),
          acting ? h("td", {}, emergencyActions(c, reload)) : null,
        ),
      ),
    ),
  );
}
