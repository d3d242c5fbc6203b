// One child's file (一人一档) as this caller may see it, with the source records behind each fact.

import { type GqlError, type GqlResult, errorsByPath, errorText, gql, topLevelError } from "../api";
import { FieldView, facts, type Value } from "../fields";
import { type Child, h, mount, notice, submitting } from "../dom";
import { code, fmtDate, fmtValue, type MessageKey, t } from "../i18n";
import { evidence } from "../i18n/evidence";
import { agencyNames, can, cachedMe } from "../me";
import { divisionLabel, divisionNames } from "./statistics";
import { href, navigate } from "../router";
import { type Prop, propLabel, propView, shortId } from "./network";
import { PROFILE_QUERIES, PSEUDONYMISED, REIDENTIFY } from "../documents";

type P = (string | number)[];
type Rec = Record<string, unknown>;

/** The child's classification (read_classification): verdicts, risk rules, and the facts behind
 * them as the field policy released them (a fact of a denied class is not in the list at all). */
interface Classification {
  leftBehind: boolean;
  inDistress: boolean;
  categories: string[];
  priority: number;
  lastVisit: string | null;
  verdicts: { category: string; holds: boolean; missing: string[] }[];
  reasons: { rule: string; zh: string; weight: number; evidence: string[] }[];
  facts: { about: string; basis: string; text: string; value: string | null }[];
}

/** The facts shown, with their label key and the code book their value comes from. */
const PERSON_FIELDS: [string, MessageKey, string?][] = [
  ["name", "fName"],
  ["namePinyin", "fPinyin"],
  ["sex", "fSex", "sex"],
  ["birthDate", "fBorn"],
  ["idNumber", "fIdNumber"],
  ["phone", "fPhone"],
  ["hukouType", "fHukou", "hukou"],
  ["disability", "fDisability"],
  ["division", "fDivision"],
  ["registeredAddress", "fRegistered"],
  ["residenceAddress", "fResidence"],
  ["worksAway", "fWorksAway"],
  ["workDestination", "fWorksIn"],
  ["guardianshipCapacity", "fCapacity", "capacity"],
  ["incapacityReason", "fIncapacityReason"],
];

type Part = GqlResult<{ person: Rec | null }>;

/**
 * The file is drawn as its parts arrive: the child's own facts, verdict and actions first (what a
 * caseworker opens the file for), then family, records and cases in their sections as each
 * answer comes (the parts are asked in parallel; each is one audited request). `data-state` on
 * the article says "complete" once every part is in.
 */
export async function renderProfile(root: HTMLElement, id: string): Promise<void> {
  if (!id) return mount(root, notice(t("noPersonChosen"), "error"));
  if (id.includes("~") && !id.includes(":")) return renderPseudonymised(root, id);
  mount(root, notice(t("loading")));
  const [factsQuery, ...restQueries] = PROFILE_QUERIES;
  // The facts first and alone: asked together, the parts share the server and each takes as long
  // as all of them (measured); the rest is asked the moment the facts are in, while they are drawn.
  const r = await gql<{ person: Rec | null; classification?: Classification | null }>(factsQuery, {
    id,
    verdict: can(cachedMe(), "read_classification"),
  });
  const rest = r.data?.person ? restQueries.map((q) => gql<{ person: Rec | null }>(q, { id })) : [];
  // A rejected part is shown where it goes, not left as an unhandled rejection.
  for (const p of rest) p.catch(() => undefined);
  const err = topLevelError(r);
  const person = r.data?.person;
  if (err || !person) return mount(root, notice(err ? errorText(err) : t("notFound"), "error"));
  const verdict: GqlResult<{ classification: Classification | null }> | null =
    r.data && "classification" in r.data
      ? { data: { classification: r.data.classification ?? null }, errors: r.errors.filter((e) => e.path?.[0] === "classification") }
      : null;
  const v = new FieldView(errorsByPath(r));
  const at: P = ["person"];
  const divisions = await divisionNames([person.division].filter((d): d is string => typeof d === "string"));
  const slot = (key: string): HTMLElement => h("div", { class: "profile-part", "data-part": key, "data-state": "loading" }, notice(t("loading")));
  const parts = ["family", "records", "cases"].map(slot);
  const article = h(
    "article",
    { id: "profile", "data-person": id, "data-state": "partial" },
    h("header", { class: "profile-head" }, h("h1", {}, v.value([...at, "name"], person.name as Value))),
    actions(id),
    verdict ? classification(verdict) : null,
    h(
      "section",
      { class: "card", id: "person-facts" },
      h("h2", {}, t("identityFamily")),
      facts(PERSON_FIELDS.map(([key, label, group]) => [t(label), key === "division" && person.division ? h("span", { "data-field": "person.division" }, divisionLabel(String(person.division), divisions)) : v.value([...at, key], person[key] as Value, group)])),
      sources(v, [...at, "sources"], person.sources),
    ),
    conflicts(v, person.conflicts as Rec[] | null),
    ...parts,
  );
  mount(root, article);

  const fill = (el: HTMLElement, ...body: (HTMLElement | null)[]): void => {
    el.dataset.state = "loaded";
    mount(el, ...body);
  };
  const partError = (el: HTMLElement, e: unknown): void =>
    fill(el, notice(e instanceof Error ? e.message : t("somethingWrong"), "error"));
  const drawn: Promise<void>[] = [
    ...rest.map((asked, i) =>
      asked.then(
        async (answer: Part) => {
          const bad = topLevelError(answer);
          const got = answer.data?.person;
          if (bad || !got) return fill(parts[i], notice(bad ? errorText(bad) : t("notFound"), "error"));
          fill(parts[i], ...(await section(i, new FieldView(errorsByPath(answer)), got)));
        },
        (e) => partError(parts[i], e),
      ),
    ),
  ];
  await Promise.all(drawn);
  article.dataset.state = "complete";
}

/** One part of the file (PROFILE_QUERIES[i + 1]: family, records, cases) as its sections. */
async function section(i: number, v: FieldView, person: Rec): Promise<(HTMLElement | null)[]> {
  if (i === 0) {
    const hh = person.household as Rec | null;
    householdDivisions = await divisionNames([hh?.division].filter((d): d is string => typeof d === "string"));
    return [
      household(v, hh),
      people(v, t("parents"), "parents", person.parents as Rec[], (rel, p) => [
        [t("fRole"), v.value([...p, "role"], rel.role as Value, "role")],
        [t("fWorksAway"), v.value([...p, "person", "worksAway"], (rel.person as Rec).worksAway as Value)],
        [t("fWorksIn"), v.value([...p, "person", "workDestination"], (rel.person as Rec).workDestination as Value)],
      ]),
      people(v, t("guardians"), "guardians", person.guardians as Rec[], (rel, p) => [
        [t("fKind"), v.value([...p, "kind"], rel.kind as Value, "guardianKind")],
        [t("fSince"), v.value([...p, "since"], rel.since as Value)],
        [t("fUntil"), v.value([...p, "until"], rel.until as Value)],
        [t("fCapacity"), v.value([...p, "person", "guardianshipCapacity"], (rel.person as Rec).guardianshipCapacity as Value, "capacity")],
      ]),
      people(v, t("childrenOf"), "children", person.children as Rec[], (rel, p) => [
        [t("fRole"), v.value([...p, "role"], rel.role as Value, "role")],
      ]),
      people(v, t("wards"), "wards", person.wards as Rec[], (rel, p) => [
        [t("fKind"), v.value([...p, "kind"], rel.kind as Value, "guardianKind")],
      ]),
      records(v, t("educationEvents"), "educationEvents", person.educationEvents as Rec[], [["kind", "colKind", "educationKind"], ["occurredOn", "colOccurredOn"], ["days", "colDays"]]),
    ];
  }
  if (i === 1) {
    await agencyNames(((person.visits as Rec[] | null) ?? []).map((x) => visitorAgency(x.visitor))).then((m) => (agencies = m));
    return [
      records(v, t("schooling"), "enrolments", person.enrolments as Rec[], [["grade", "colGrade"], ["boarding", "colBoarding"], ["status", "colStatus", "enrolment"], ["startDate", "colStartDate"]], (e) =>
        h("span", {}, String(((e.school as Rec | null)?.name as string) ?? "")),
      ),
      records(v, t("agreements"), "agreements", person.agreements as Rec[], [["kind", "colKind", "agreement"], ["signedOn", "colSignedOn"], ["validFrom", "colValidFrom"], ["validTo", "colValidTo"]]),
      records(v, t("visits"), "visits", person.visits as Rec[], [["visitedOn", "colVisitedOn"], ["visitor", "colVisitor", "visitor"], ["findings", "colFindings", "finding"]]),
    ];
  }
  if (i === 2) {
    await agencyNames([
      ...((person.reports as Rec[] | null) ?? []).map((x) => x.reporterAgency as string),
      ...((person.cases as Rec[] | null) ?? []).map((x) => x.agency as string),
    ]).then((m) => (agencies = m));
    return [
      records(v, t("reports"), "reports", person.reports as Rec[], [["situation", "colSituation", "situation"], ["status", "colStatus", "reportStatus"], ["filedAt", "colFiled"], ["reporterAgency", "colFrom", "agency"]]),
      records(v, t("cases"), "cases", person.cases as Rec[], [["kind", "colSituation", "situation"], ["riskLevel", "colRisk", "risk"], ["status", "colStatus", "caseStatus"], ["openedAt", "colOpened"], ["agency", "colLeadAgency", "agency"]]),
      records(v, t("health"), "healthEvents", person.healthEvents as Rec[], [["kind", "colKind", "healthKind"], ["icd10", "colIcd10"], ["occurredOn", "colOccurredOn"]]),
    ];
  }
  return [];
}

/**
 * What this role may do for the child, as links to the pages that do it (the capabilities the
 * server granted; the server re-checks every action).
 */
function actions(id: string): HTMLElement | null {
  const me = cachedMe();
  const person = encodeURIComponent(id);
  const offered: [string, string, MessageKey][] = [];
  if (can(me, "trace_networks")) offered.push(["open-network", `network/${person}`, "navNetwork"]);
  if (can(me, "record_visit")) offered.push(["act-visit", "village", "actVisit"]);
  if (can(me, "record_visit") && can(me, "file_mandatory_report")) offered.push(["act-report", "village", "actReport"]);
  if (can(me, "accept_report")) offered.push(["act-inbox", "reports", "actInbox"]);
  if (["read_worklist", "lead_assessment", "record_emergency_action", "decide_guardianship"].some((c) => can(me, c))) {
    offered.push(["act-cases", "worklist", "actCases"]);
  }
  if (can(me, "read_audit_log")) offered.push(["act-audit", `audit?record=${person}`, "actAudit"]);
  if (offered.length === 0) return null;
  return h(
    "nav",
    { class: "card actions", id: "profile-actions", "aria-label": t("profileActions") },
    h("h2", {}, t("profileActions")),
    h(
      "div",
      { class: "row" },
      offered.map(([key, path, label]) => h("a", { href: href(path), id: key, class: "button", "data-action": key }, t(label))),
    ),
  );
}

/** A fact, a missing fact or a rule's evidence, in the console's language. */
function said(text: string): string {
  return evidence(text);
}

/**
 * The classification verdict (留守儿童 / 困境儿童 and the categories that hold), each with the facts
 * behind it, what the record lacks to decide, and the risk rules that hold with their evidence.
 */
function classification(r: GqlResult<{ classification: Classification | null }>): HTMLElement {
  const card = (...body: (HTMLElement | null)[]): HTMLElement =>
    h("section", { class: "card", id: "classification" }, h("h2", {}, t("classificationTitle")), ...body);
  const err = topLevelError(r) ?? r.errors.find((e) => e.path?.length === 1);
  const c = r.data?.classification;
  if (err) return card(notice(errorText(err), "error"));
  if (!c) return card(h("p", { class: "empty" }, t("notClassified")));
  const holding = c.verdicts.filter((v) => v.holds);
  const factsFor = (category: string): string[] =>
    c.facts.filter((f) => f.basis === "verdict" && f.about === category).map((f) => said(f.text));
  const summary = holding.length
    ? holding.map((v) => code("category", v.category)).join("、")
    : t("noCategoryHolds");
  return card(
    h("p", { class: "verdict-summary", id: "verdict-summary" }, `${t("verdictIs")}：${summary}`),
    h(
      "ul",
      { class: "verdicts" },
      c.verdicts
        .filter((v) => v.holds || v.missing.length)
        .map((v) =>
          h(
            "li",
            { "data-category": v.category, "data-holds": String(v.holds) },
            h("strong", {}, code("category", v.category)),
            ` ${v.holds ? t("verdictHolds") : t("verdictUndecided")}`,
            factsFor(v.category).length ? h("ul", { class: "verdict-facts" }, factsFor(v.category).map((f) => h("li", {}, f))) : null,
            v.missing.length ? h("p", { class: "hint missing" }, `${t("verdictMissing")}：${v.missing.map(said).join("；")}`) : null,
          ),
        ),
    ),
    c.reasons.length
      ? h(
          "div",
          { id: "risk-reasons" },
          h("h3", {}, t("riskReasons", { priority: c.priority })),
          h(
            "ul",
            { class: "reasons" },
            c.reasons.map((x) =>
              h("li", { "data-rule": x.rule }, h("strong", {}, code("rule", x.rule)), x.evidence.length ? `：${x.evidence.map(said).join("；")}` : ""),
            ),
          ),
        )
      : null,
  );
}

/** The sources behind a record or a link: system, record id, when. */
function sources(v: FieldView, path: P, value: unknown): HTMLElement {
  const denied: GqlError | undefined = v.denied(path);
  if (value === null || value === undefined) {
    return h(
      "p",
      { class: "sources", "data-sources": path.join(".") },
      `${t("sourcesLabel")}：`,
      denied ? v.value(path, null) : h("span", { class: "empty" }, t("noneRecorded")),
    );
  }
  const list = value as Rec[];
  return h(
    "p",
    { class: "sources", "data-sources": path.join(".") },
    `${t("sourcesLabel")}：`,
    list.map((s, i) =>
      h(
        "span",
        { class: "source", "data-record": String(s.recordId ?? ""), "data-system": String(s.system ?? "") },
        i > 0 ? " · " : "",
        code("system", s.system as string),
        h("small", {}, `（${fmtDate(s.at as string)}）`),
      ),
    ),
  );
}

function conflicts(v: FieldView, list: Rec[] | null): HTMLElement | null {
  if (list === null) {
    return v.denied(["person", "conflicts"])
      ? h("section", { class: "card" }, h("h2", {}, t("conflictsTitle")), v.value(["person", "conflicts"], null))
      : null;
  }
  if (list.length === 0) return null;
  return h(
    "section",
    { class: "card", id: "conflicts" },
    h("h2", {}, t("conflictsTitle")),
    h(
      "table",
      { class: "list" },
      h("thead", {}, h("tr", {}, h("th", {}, t("colAttribute")), h("th", {}, t("colValues")), h("th", {}, t("sourcesLabel")))),
      h(
        "tbody",
        {},
        list.map((c) =>
          h(
            "tr",
            {},
            h("td", {}, code("attribute", c.attribute as string)),
            h("td", {}, (c.values as string[]).map((x) => fmtValue(x)).join(" / ")),
            h("td", {}, ((c.sources as Rec[]) ?? []).map((s) => code("system", s.system as string)).join(" · ")),
          ),
        ),
      ),
    ),
  );
}

function household(v: FieldView, hh: Rec | null): HTMLElement | null {
  if (!hh) return null;
  const at: P = ["person", "household"];
  const members = (hh.members as Rec[]) ?? [];
  return h(
    "section",
    { class: "card", id: "household" },
    h("h2", {}, t("householdTitle")),
    facts([
      [t("householdNumber"), v.value([...at, "householdNumber"], hh.householdNumber as Value)],
      [t("fHukou"), v.value([...at, "hukouType"], hh.hukouType as Value, "hukou")],
      [t("fDivision"), hh.division ? h("span", { "data-field": "person.household.division" }, divisionLabel(String(hh.division), householdDivisions)) : v.value([...at, "division"], hh.division as Value)],
    ]),
    sources(v, [...at, "sources"], hh.sources),
    h(
      "ul",
      { class: "members" },
      members.map((m, i) =>
        h(
          "li",
          {},
          personLink(v, [...at, "members", i, "person"], m.person as Rec),
          " — ",
          v.value([...at, "members", i, "relationToHead"], m.relationToHead as Value, "role"),
        ),
      ),
    ),
  );
}

function personLink(v: FieldView, path: P, person: Rec): HTMLElement {
  return h(
    "a",
    { href: href(`person/${encodeURIComponent(person.id as string)}`), class: "person-link" },
    v.value([...path, "name"], person.name as Value),
  );
}

function people(
  v: FieldView,
  title: string,
  key: string,
  list: Rec[] | null,
  extra: (rel: Rec, path: P) => [string, HTMLElement][],
): HTMLElement | null {
  if (!list || list.length === 0) return null;
  return h(
    "section",
    { class: "card", id: key },
    h("h2", {}, title),
    list.map((rel, i) => {
      const p: P = ["person", key, i];
      return h(
        "div",
        { class: "related" },
        h("h3", {}, personLink(v, [...p, "person"], rel.person as Rec)),
        facts(extra(rel, p)),
        "sources" in rel ? sources(v, [...p, "sources"], rel.sources) : null,
      );
    }),
  );
}

let agencies = new Map<string, string>();

/** A visit's visitor is the recording client (agency id + "-" + a suffix): its agency. */
function visitorAgency(visitor: unknown): string | null {
  if (typeof visitor !== "string") return null;
  const m = /^(.+)-[0-9a-f]{8,}$/.exec(visitor);
  return m ? m[1] : visitor;
}
let householdDivisions = new Map<string, string>();

/** One table cell: an agency by name, findings as words, anything else through the field view. */
function cell(v: FieldView, path: P, value: Value, group?: string): HTMLElement {
  if (group === "visitor" && typeof value === "string" && !value.includes("*")) {
    const agency = visitorAgency(value);
    return h("span", { "data-field": path.join("."), "data-value": value }, (agency && agencies.get(agency)) || t("visitorUnnamed"));
  }
  if (group === "agency" && typeof value === "string") {
    return h("span", { "data-field": path.join("."), "data-value": value }, agencies.get(value) ?? t("unnamedAgency"));
  }
  if (group === "finding" && (Array.isArray(value) || (typeof value === "string" && !value.includes("*")))) {
    const list = Array.isArray(value) ? (value as string[]) : String(value).split(",").filter(Boolean);
    return h("span", { "data-field": path.join(".") }, list.map((f) => code("finding", f.trim())).join("、") || "—");
  }
  return v.value(path, value, group);
}

function records(
  v: FieldView,
  title: string,
  key: string,
  list: Rec[] | null,
  cols: [string, MessageKey, string?][],
  lead?: (r: Rec) => Child,
): HTMLElement | null {
  if (!list || list.length === 0) return null;
  return h(
    "section",
    { class: "card", id: key },
    h("h2", {}, title),
    h(
      "table",
      { class: "list" },
      h("thead", {}, h("tr", {}, lead ? h("th", {}, t("colSchool")) : null, cols.map(([, label]) => h("th", {}, t(label))), h("th", {}, t("sourcesLabel")))),
      h(
        "tbody",
        {},
        list.map((r, i) =>
          h(
            "tr",
            {},
            lead ? h("td", {}, lead(r)) : null,
            cols.map(([c, , group]) => h("td", {}, cell(v, ["person", key, i, c], r[c] as Value, group))),
            h("td", {}, sources(v, ["person", key, i, "sources"], r.sources)),
          ),
        ),
      ),
    ),
  );
}

/**
 * A record known only by its pseudonym (an analyst's network): what the policy lets through, and
 * re-identification (再识别) on request, which the server allows only with the capability and a
 * declared purpose, and records on the audit log.
 */
async function renderPseudonymised(root: HTMLElement, pseudonym: string): Promise<void> {
  mount(root, notice(t("loading")));
  const r = await gql<{ network: { nodes: { id: string; kind: string; label: string | null; properties: Prop[] }[] } }>(
    PSEUDONYMISED,
    { start: pseudonym },
  );
  const err = topLevelError(r);
  const node = r.data?.network.nodes.find((n) => n.id === pseudonym);
  if (err || !node) return mount(root, notice(err ? errorText(err) : t("notFound"), "error"));
  const status = h("div", { id: "reidentify-status" });
  const reidentify = async (): Promise<void> => {
    const answer = await gql<{ networkReidentify: { id: string | null }[] }>(
      REIDENTIFY,
      { p: [pseudonym] },
    );
    const e = topLevelError(answer);
    const found = answer.data?.networkReidentify[0]?.id;
    if (e || !found) return mount(status, notice(e ? errorText(e) : t("notFound"), "error"));
    navigate(`person/${encodeURIComponent(found)}`);
  };
  mount(
    root,
    h(
      "article",
      { id: "profile", "data-person": pseudonym, class: "pseudonymised" },
      h("header", { class: "profile-head" }, h("h1", {}, shortId(pseudonym)), h("a", { href: href(`network/${encodeURIComponent(pseudonym)}`), id: "open-network", class: "button" }, t("navNetwork"))),
      h(
        "section",
        { class: "card", id: "person-facts" },
        h("h2", {}, t("pseudonymisedRecord")),
        facts(node.properties.filter((p) => p.name !== "sources" && p.name !== "claims").map((p) => [propLabel(p.name), propView(p, `person.${p.name}`)])),
        h("p", { class: "hint" }, t("reidentifyHint")),
        h("button", { type: "button", id: "reidentify", onclick: submitting(reidentify) }, t("reidentify")),
        status,
      ),
    ),
  );
}
