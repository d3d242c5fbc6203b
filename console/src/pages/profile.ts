// One child's file (一人一档) as this caller may see it, with the source records behind each fact.

import { type GqlError, type GqlResult, errorsByPath, errorText, gql, topLevelError } from "../api";
import { FieldView, facts, type Value } from "../fields";
import { type Child, h, mount, notice } from "../dom";
import { href, navigate } from "../router";
import { type Prop, propView, shortId } from "./network";

type P = (string | number)[];
type Rec = Record<string, unknown>;

const SRC = "sources { system recordId at }";

// Split so that each document stays under the server's cost limit (a list of sources inside a
// list is priced at 20 × 20); the parts run in parallel and are merged under "person".
export const PROFILE_QUERIES = [
  `query ProfileFacts($id: ID!) { person(id: $id) {
    id name namePinyin sex birthDate idNumber phone hukouType disability division
    registeredAddress residenceAddress worksAway workDestination guardianshipCapacity incapacityReason
    ${SRC} conflicts { attribute values ${SRC} } } }`,
  `query ProfileFamily($id: ID!) { person(id: $id) { id
    household { id householdNumber hukouType division ${SRC} members { relationToHead person { id name } } }
    parents { role ${SRC} person { id name worksAway workDestination guardianshipCapacity } }
    children { role person { id name birthDate } }
    guardians { kind since until ${SRC} person { id name guardianshipCapacity } }
    wards { kind since person { id name } } } }`,
  `query ProfileRecords($id: ID!) { person(id: $id) { id
    agreements { id kind signedOn validFrom validTo ${SRC} }
    enrolments { grade boarding status startDate ${SRC} school { id name } }
    visits { id visitedOn visitor findings ${SRC} } } }`,
  `query ProfileCases($id: ID!) { person(id: $id) { id
    reports { id situation status filedAt reporterAgency ${SRC} }
    cases { id kind riskLevel status openedAt agency ${SRC} }
    healthEvents { id kind icd10 occurredOn ${SRC} } } }`,
  `query ProfileEducation($id: ID!) { person(id: $id) { id educationEvents { id kind occurredOn days ${SRC} } } }`,
];

async function loadProfile(id: string): Promise<GqlResult<{ person: Rec | null }>> {
  const parts = await Promise.all(PROFILE_QUERIES.map((q) => gql<{ person: Rec | null }>(q, { id })));
  const first = parts[0];
  if (topLevelError(first) || !first.data?.person) return first;
  const person: Rec = {};
  for (const part of parts) Object.assign(person, part.data?.person ?? {});
  return { data: { person }, errors: parts.flatMap((p) => p.errors) };
}

const PERSON_FIELDS: [string, string][] = [
  ["name", "Name 姓名"],
  ["namePinyin", "Pinyin"],
  ["sex", "Sex 性别"],
  ["birthDate", "Born 出生日期"],
  ["idNumber", "ID number 身份证号"],
  ["phone", "Phone 电话"],
  ["hukouType", "Hukou 户口类型"],
  ["disability", "Disability 残疾"],
  ["division", "Division 区划"],
  ["registeredAddress", "Registered address 户籍地"],
  ["residenceAddress", "Residence 居住地"],
  ["worksAway", "Works away 外出务工"],
  ["workDestination", "Works in 务工地"],
  ["guardianshipCapacity", "Guardianship capacity 监护能力"],
  ["incapacityReason", "Incapacity reason"],
];

export async function renderProfile(root: HTMLElement, id: string): Promise<void> {
  if (!id) return mount(root, notice("No person chosen: search first.", "error"));
  if (id.includes("~") && !id.includes(":")) return renderPseudonymised(root, id);
  mount(root, notice("Loading profile…"));
  const r = await loadProfile(id);
  const err = topLevelError(r);
  const person = r.data?.person;
  if (err || !person) return mount(root, notice(err ? errorText(err) : "Not found, or outside your scope.", "error"));
  const v = new FieldView(errorsByPath(r));
  const at: P = ["person"];
  mount(
    root,
    h(
      "article",
      { id: "profile", "data-person": id },
      h(
        "header",
        { class: "profile-head" },
        h("h1", {}, v.value([...at, "name"], person.name as Value)),
        h("a", { href: href(`network/${encodeURIComponent(id)}`), id: "open-network", class: "button" }, "Network 关系网络"),
      ),
      h(
        "section",
        { class: "card", id: "person-facts" },
        h("h2", {}, "Identity and family 基本情况"),
        facts(PERSON_FIELDS.map(([key, label]) => [label, v.value([...at, key], person[key] as Value)])),
        sources(v, [...at, "sources"], person.sources),
      ),
      conflicts(v, person.conflicts as Rec[] | null),
      household(v, person.household as Rec | null),
      people(v, "Parents 父母", "parents", person.parents as Rec[], (rel, p) => [
        ["Role", v.value([...p, "role"], rel.role as Value)],
        ["Works away", v.value([...p, "person", "worksAway"], (rel.person as Rec).worksAway as Value)],
        ["Works in", v.value([...p, "person", "workDestination"], (rel.person as Rec).workDestination as Value)],
      ]),
      people(v, "Guardians 监护人", "guardians", person.guardians as Rec[], (rel, p) => [
        ["Kind", v.value([...p, "kind"], rel.kind as Value)],
        ["Since", v.value([...p, "since"], rel.since as Value)],
        ["Until", v.value([...p, "until"], rel.until as Value)],
        ["Capacity", v.value([...p, "person", "guardianshipCapacity"], (rel.person as Rec).guardianshipCapacity as Value)],
      ]),
      people(v, "Children 子女", "children", person.children as Rec[], (rel, p) => [
        ["Role", v.value([...p, "role"], rel.role as Value)],
      ]),
      people(v, "Wards 被监护人", "wards", person.wards as Rec[], (rel, p) => [
        ["Kind", v.value([...p, "kind"], rel.kind as Value)],
      ]),
      records(v, "Schooling 就学", "enrolments", person.enrolments as Rec[], ["grade", "boarding", "status", "startDate"], (e) =>
        h("span", {}, String(((e.school as Rec | null)?.name as string) ?? "")),
      ),
      records(v, "Agreements 委托监护协议/监护责任书", "agreements", person.agreements as Rec[], ["kind", "signedOn", "validFrom", "validTo"]),
      records(v, "Visits 走访", "visits", person.visits as Rec[], ["visitedOn", "visitor", "findings"]),
      records(v, "Reports 强制报告", "reports", person.reports as Rec[], ["situation", "status", "filedAt", "reporterAgency"]),
      records(v, "Cases 个案", "cases", person.cases as Rec[], ["kind", "riskLevel", "status", "openedAt", "agency"]),
      records(v, "Health 健康", "healthEvents", person.healthEvents as Rec[], ["kind", "icd10", "occurredOn"]),
      records(v, "Education events 教育", "educationEvents", person.educationEvents as Rec[], ["kind", "occurredOn", "days"]),
    ),
  );
}

/** The sources behind a record or a link: system, record id, when. */
function sources(v: FieldView, path: P, value: unknown): HTMLElement {
  const denied: GqlError | undefined = v.denied(path);
  if (value === null || value === undefined) {
    return h(
      "p",
      { class: "sources", "data-sources": path.join(".") },
      "Sources: ",
      denied ? v.value(path, null) : h("span", { class: "empty" }, "none recorded"),
    );
  }
  const list = value as Rec[];
  return h(
    "p",
    { class: "sources", "data-sources": path.join(".") },
    "Sources: ",
    list.map((s, i) =>
      h(
        "span",
        { class: "source" },
        i > 0 ? " · " : "",
        `${s.system as string} ${s.recordId as string}`,
        h("small", {}, ` (${s.at as string})`),
      ),
    ),
  );
}

function conflicts(v: FieldView, list: Rec[] | null): HTMLElement | null {
  if (list === null) {
    return v.denied(["person", "conflicts"])
      ? h("section", { class: "card" }, h("h2", {}, "Disagreeing sources 来源不一致"), v.value(["person", "conflicts"], null))
      : null;
  }
  if (list.length === 0) return null;
  return h(
    "section",
    { class: "card", id: "conflicts" },
    h("h2", {}, "Disagreeing sources 来源不一致"),
    h(
      "table",
      { class: "list" },
      h("thead", {}, h("tr", {}, h("th", {}, "Attribute"), h("th", {}, "Values"), h("th", {}, "Sources"))),
      h(
        "tbody",
        {},
        list.map((c) =>
          h(
            "tr",
            {},
            h("td", {}, c.attribute as string),
            h("td", {}, (c.values as string[]).join(" / ")),
            h("td", {}, ((c.sources as Rec[]) ?? []).map((s) => `${s.system as string} ${s.recordId as string}`).join(" · ")),
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
    h("h2", {}, "Household 户"),
    facts([
      ["Household number 户号", v.value([...at, "householdNumber"], hh.householdNumber as Value)],
      ["Hukou 户口类型", v.value([...at, "hukouType"], hh.hukouType as Value)],
      ["Division", v.value([...at, "division"], hh.division as Value)],
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
          v.value([...at, "members", i, "relationToHead"], m.relationToHead as Value),
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

function records(
  v: FieldView,
  title: string,
  key: string,
  list: Rec[] | null,
  cols: string[],
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
      h("thead", {}, h("tr", {}, lead ? h("th", {}, "") : null, cols.map((c) => h("th", {}, c)), h("th", {}, "Sources"))),
      h(
        "tbody",
        {},
        list.map((r, i) =>
          h(
            "tr",
            {},
            lead ? h("td", {}, lead(r)) : null,
            cols.map((c) => h("td", {}, v.value(["person", key, i, c], r[c] as Value))),
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
  mount(root, notice("Loading…"));
  const r = await gql<{ network: { nodes: { id: string; kind: string; label: string | null; properties: Prop[] }[] } }>(
    `query Pseudonymised($start: ID!) { network(start: $start, depth: 1) {
      nodes { id kind label properties { name value decision reason } } } }`,
    { start: pseudonym },
  );
  const err = topLevelError(r);
  const node = r.data?.network.nodes.find((n) => n.id === pseudonym);
  if (err || !node) return mount(root, notice(err ? errorText(err) : "Not found, or outside your scope.", "error"));
  const status = h("div", { id: "reidentify-status" });
  const reidentify = async (): Promise<void> => {
    const answer = await gql<{ networkReidentify: { id: string | null }[] }>(
      "query Reidentify($p: [ID!]!) { networkReidentify(pseudonyms: $p) { id } }",
      { p: [pseudonym] },
    );
    const e = topLevelError(answer);
    const found = answer.data?.networkReidentify[0]?.id;
    if (e || !found) return mount(status, notice(e ? errorText(e) : "Not found, or outside your scope.", "error"));
    navigate(`person/${encodeURIComponent(found)}`);
  };
  mount(
    root,
    h(
      "article",
      { id: "profile", "data-person": pseudonym, class: "pseudonymised" },
      h("header", { class: "profile-head" }, h("h1", {}, shortId(pseudonym)), h("a", { href: href(`network/${encodeURIComponent(pseudonym)}`), id: "open-network", class: "button" }, "Network 关系网络")),
      h(
        "section",
        { class: "card", id: "person-facts" },
        h("h2", {}, "Pseudonymised record 假名化记录"),
        facts(node.properties.map((p) => [p.name, propView(p, `person.${p.name}`)])),
        h("p", { class: "hint" }, "Re-identifying needs a declared purpose of use and is recorded on the audit log."),
        h("button", { type: "button", id: "reidentify", onclick: () => void reidentify() }, "Re-identify 再识别"),
        status,
      ),
    ),
  );
}
