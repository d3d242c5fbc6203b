// The auditor's review. The start page answers the daily questions at once: today's refused
// requests, break-glass uses awaiting review, unusual volumes and the hash chain's status; below,
// a filter (accesses to a record, by an agency, refused, break-glass) with paging and an export
// of everything the filter selects (JSON Lines), which works in the default mode too.

import { errorText, gql, topLevelError } from "../api";
import { config } from "../config";
import { formValue, h, mount, notice, sameLoad, startLoad } from "../dom";
import { fieldPathLabel } from "../fields";
import { code, fmtDateTime, hasCode, lang, t, todayBeijing } from "../i18n";
import { agencyNames, personNames } from "../me";
import { current } from "../session";
import { AUDIT, AUDIT_TODAY, AUDITED_CASE, AUDITED_CASES, CASE_BATCH, CHAIN, MEMBER_AGENCIES } from "../documents";

interface Entry {
  seq: number;
  at: string;
  clientId: string | null;
  agencyId: string | null;
  agencyType: string | null;
  role: string | null;
  purpose: string | null;
  operation: string;
  /** What the request was, as the server knows it: the console's own document (by its query hash)
   * or one of the server's own entries; null for any other request, whatever it named itself. */
  knownOperation: string | null;
  decision: string;
  reasons: string[];
  records: string[];
  maskedFields: string[];
  deniedFields: string[];
  breakGlass: boolean;
  breakGlassJustification: string | null;
  resultSize: number;
  status: number;
}

interface Page {
  entries: Entry[];
  nextAfterSeq: number | null;
}

type Mode = "record" | "agency" | "denied" | "breakGlass";

interface Filter {
  mode: Mode;
  recordId: string;
  agencyId: string;
  since: string;
  until: string;
}

/** Beijing midnight today, as the value of a datetime-local input. */
function todayStart(): string {
  return `${todayBeijing()}T00:00`;
}

/** A datetime-local value is Beijing time: turned into an instant with the +08:00 offset. */
function instant(local: string): string | null {
  return local ? new Date(`${local}:00+08:00`).toISOString() : null;
}

function query(f: Filter): { text: string; vars: Record<string, unknown> } {
  const vars: Record<string, unknown> = { since: instant(f.since), until: instant(f.until) };
  if (f.mode === "record") vars.recordId = f.recordId;
  else if (f.mode === "agency") vars.agencyId = f.agencyId;
  return { text: AUDIT[f.mode], vars };
}

async function fetchPage(f: Filter, after: number | null): Promise<Page> {
  const q = query(f);
  const r = await gql<{ page: Page }>(q.text, { ...q.vars, after });
  const err = topLevelError(r);
  if (err || !r.data) throw new Error(err ? errorText(err) : t("noData"));
  return r.data.page;
}

/** Every member agency by name, for the "by agency" choice (ids stay in the option values). */
async function memberAgencies(): Promise<{ id: string; name: string | null; agencyType: string | null }[]> {
  const r = await gql<{ memberAgencies: { id: string; name: string | null; agencyType: string | null }[] }>(
    MEMBER_AGENCIES,
  );
  return r.data?.memberAgencies ?? [];
}

/**
 * A record as an auditor knows it: whose person file or case it is (the name as the caller's
 * policy shows it), never its id. A record of another kind (or one not found) is said as "the
 * record of the pasted id".
 */
async function recordLabel(id: string): Promise<string> {
  if (id.startsWith("person:")) {
    const name = (await personNames([id])).get(id);
    return t("recordOfPerson", { name: name ?? t("nameNotPermitted") });
  }
  if (id.startsWith("protectioncase:")) {
    const r = await gql<{ protectionCase: { situation: string | null; child: { name: string | null } | null } | null }>(
      AUDITED_CASE,
      { id: id.slice("protectioncase:".length) },
    );
    const c = r.data?.protectionCase;
    if (c) return t("recordOfCase", { name: c.child?.name ?? t("nameNotPermitted"), situation: code("situation", c.situation) });
  }
  return t("recordOther");
}

/**
 * What the auditor sees of the records an entry names: the kind of record in words and the last
 * characters of its key, and (only when the auditor asks, a page of entries at a time) whose person
 * file or case it is, by the name the auditor's own policy shows (identity is masked for the 审计
 * purpose and the role, and a person outside the jurisdiction comes back without a name). The names
 * are asked for through the ordinary `person` and `protectionCase` fields under the auditor's token,
 * so the same guard decides them; but every such lookup is itself an audited read of a child's
 * record (the owning agency is told of it, and it counts toward the auditor's own unusual volume),
 * so merely opening or paging the log never asks. The audit API itself returns ids only.
 */
const LABELS = new Map<string, string>();
let labelsAskedAs = "";

/** The labels kept, for this session's token and the language of now only: another token (signed
 * out and in again, perhaps someone else) asks again under its own policy, and another language
 * says them in its words. */
function keptLabels(): Map<string, string> {
  const asked = `${current()?.token ?? ""}|${lang()}`;
  if (asked !== labelsAskedAs) {
    LABELS.clear();
    labelsAskedAs = asked;
  }
  return LABELS;
}
const CASE_KINDS = new Set(["protectioncase", "protection_case"]);

function kindOf(id: string): string {
  return id.slice(0, Math.max(0, id.indexOf(":")));
}

/** The person a record is about: a person file itself, or a record keyed by a person (a child's
 * classification: `child_classification:person:…`). */
function aboutOf(id: string): string {
  return kindOf(id) === "person" ? id : id.slice(id.indexOf(":") + 1);
}

/** Whether a name can be asked for the record (a person's, one keyed by a person, or a case). */
function nameable(id: string): boolean {
  return kindOf(aboutOf(id)) === "person" || CASE_KINDS.has(kindOf(id));
}

/** The record's kind in words and a short masked reference (…last four characters of its key). */
function byRef(id: string): string {
  const kind = kindOf(id);
  const key = id.slice(id.indexOf(":") + 1);
  return t("recordByRef", { kind: hasCode("recordKind", kind) ? code("recordKind", kind) : t("recordKindOther"), ref: `…${key.slice(-4)}` });
}

interface CaseSummary {
  name: string | null;
  situation: string | null;
}

/** Cases by id (`protectioncase:…`), in one request: the child's name as the policy shows it and the
 * situation; a case the answer leaves out (and whether the answer had errors). */
async function caseBatch(batch: string[]): Promise<{ got: Map<string, CaseSummary>; errors: boolean }> {
  const vars = Object.fromEntries(batch.map((id, n) => [`c${n}`, id.slice(id.indexOf(":") + 1)]));
  const r = await gql<Record<string, { situation: string | null; child: { name: string | null } | null } | null>>(
    AUDITED_CASES[batch.length - 1],
    vars,
  );
  const got = new Map<string, CaseSummary>();
  batch.forEach((id, n) => {
    const c = r.data?.[`c${n}`];
    if (c) got.set(id, { name: c.child?.name ?? null, situation: c.situation });
  });
  return { got, errors: r.errors.length > 0 };
}

/**
 * Cases ten to a request. `protectionCase` cannot answer null, so one case the auditor may not read
 * (or one that is not there: a refused probe of a guessed id) fails its whole batch: the cases the
 * failed batch left out are asked again one by one, so that the others are still named.
 */
async function caseSummaries(ids: string[]): Promise<Map<string, CaseSummary>> {
  const out = new Map<string, CaseSummary>();
  for (let i = 0; i < ids.length; i += CASE_BATCH) {
    const batch = ids.slice(i, i + CASE_BATCH);
    const { got, errors } = await caseBatch(batch);
    got.forEach((c, id) => out.set(id, c));
    if (!errors || batch.length === 1) continue;
    for (const id of batch.filter((b) => !got.has(b))) {
      (await caseBatch([id])).got.forEach((c, one) => out.set(one, c));
    }
  }
  return out;
}

/**
 * The labels of the records given, by name where the auditor's policy shows one (else the kind and
 * reference), asked for those not kept yet. Throws when there is no answer (offline): nothing is
 * kept then, and the auditor may ask again.
 */
async function recordLabels(ids: string[]): Promise<Map<string, string>> {
  const kept = keptLabels();
  const askedAs = labelsAskedAs;
  const wanted = [...new Set(ids)].filter((id) => nameable(id) && !kept.has(id));
  if (wanted.length === 0) return kept;
  const persons = [...new Set(wanted.map(aboutOf).filter((p) => kindOf(p) === "person"))];
  const cases = wanted.filter((id) => CASE_KINDS.has(kindOf(id)));
  const empty = new Map<string, string | null>();
  const [names, summaries] = await Promise.all([persons.length ? personNames(persons) : empty, caseSummaries(cases)]);
  // Asked under a session or language that is no longer the one (signed out meanwhile): not kept.
  const into = askedAs === labelsAskedAs ? kept : new Map<string, string>();
  for (const id of wanted) {
    const kind = kindOf(id);
    const name = names.get(aboutOf(id));
    const c = summaries.get(id);
    into.set(
      id,
      name && kind === "person"
        ? t("recordPersonNamed", { name })
        : name
          ? t("recordOfPersonKind", { name, kind: hasCode("recordKind", kind) ? code("recordKind", kind) : t("recordKindOther") })
          : c?.name
            ? t("recordOfCase", { name: c.name, situation: code("situation", c.situation) })
            : byRef(id),
    );
  }
  return into;
}

/**
 * A button that copies `value` (a record's id, an operation's or the fields' technical names),
 * which an auditor needs to look something up or find it in an export, while the screen says it in
 * words only: the value itself is never on screen, not even as a tooltip.
 */
function copyButton(value: string, what: string): HTMLElement {
  const copy = h("button", { type: "button", class: "link copy-id", title: what, "aria-label": what }, t("copyWord"));
  copy.addEventListener("click", () => {
    const said = (): void => {
      copy.textContent = t("copied");
      setTimeout(() => (copy.textContent = t("copyWord")), 2000);
    };
    // The clipboard needs a secure context; elsewhere the value is offered in a box to copy by hand.
    if (navigator.clipboard) void navigator.clipboard.writeText(value).then(said, () => window.prompt(what, value));
    else window.prompt(what, value);
  });
  return copy;
}

/**
 * A record in words (its kind and short reference until the auditor asks for the page's names),
 * with a button that copies its id (to ask for the record's accesses, or to find it in an export).
 */
function recordView(id: string): HTMLElement {
  return h("li", { class: "record", "data-record": id }, h("span", { class: "record-label" }, byRef(id)), " ", copyButton(id, t("copyRecordId")));
}

/** An entry's records: one said at once, more folded (the count shows, the list opens on demand). */
function recordsView(ids: string[]): HTMLElement | string {
  if (ids.length === 0) return "—";
  const list = h("ul", { class: "records" }, ids.map((id) => recordView(id)));
  if (ids.length === 1) return list;
  return h("details", {}, h("summary", {}, t("nRecords", { n: ids.length })), list);
}

/**
 * The head of a page of entries that names records a name can be asked for: its number and the
 * button that asks for this page's names (each lookup is an audited read, which the hint says).
 */
function pageHead(n: number, group: HTMLElement, ids: string[]): HTMLElement {
  const status = h("span", { class: "page-names-status", role: "status" });
  const button = h("button", { type: "button", class: "page-names" }, t("namesShow"));
  button.addEventListener("click", () => {
    button.disabled = true;
    button.textContent = t("namesAsking");
    status.textContent = "";
    recordLabels(ids).then(
      (labels) => {
        // The page was left meanwhile (another search, the language switched, signed out).
        if (!button.isConnected) return;
        for (const li of group.querySelectorAll<HTMLElement>("li.record")) {
          const label = labels.get(li.dataset.record ?? "");
          const span = li.querySelector(".record-label");
          if (label && span) span.textContent = label;
        }
        button.replaceWith(h("span", { class: "page-names-done" }, t("namesShown")));
      },
      () => {
        if (!button.isConnected) return;
        button.disabled = false;
        button.textContent = t("namesShow");
        status.textContent = t("namesFailed");
      },
    );
  });
  return h(
    "tr",
    { class: "page-head" },
    h("td", { colspan: 11 }, h("div", { class: "page-head-inner" }, h("strong", {}, t("auditPageN", { n })), button, status, h("small", { class: "hint" }, t("namesHint")))),
  );
}

export async function renderAudit(root: HTMLElement, params: URLSearchParams): Promise<void> {
  const results = h("div", { id: "audit-results" });
  const chain = h("div", { id: "chain-status", class: "card" }, h("h2", {}, t("hashChain")), notice(t("verifying")));
  const today = h("section", { id: "audit-today", class: "card", "aria-labelledby": "h-today" }, h("h2", { id: "h-today" }, t("auditToday")), notice(t("loading")));
  const initialMode: Mode = params.get("record") ? "record" : "denied";
  // The record chosen by a link from a person's or a case's file (?record=…), shown by name.
  const chosen = { id: params.get("record") ?? "" };
  const chosenLabel = h("output", { id: "audit-record-chosen", "data-record": chosen.id }, chosen.id ? t("loading") : t("recordNoneChosen"));
  const showChosen = async (id: string): Promise<void> => {
    chosenLabel.dataset.record = id;
    chosenLabel.textContent = id ? await recordLabel(id) : t("recordNoneChosen");
  };
  const agencySelect = h("select", { name: "agencyId", id: "audit-agency" }, h("option", { value: "" }, t("chooseAgency")));
  const form = h(
    "form",
    { id: "audit-filter", class: "card" },
    h("h2", {}, t("auditFilter")),
    h(
      "div",
      { class: "row" },
      h(
        "label",
        {},
        t("auditShow"),
        h(
          "select",
          { name: "mode", id: "audit-mode" },
          h("option", { value: "denied", selected: initialMode === "denied" }, t("modeDenied")),
          h("option", { value: "breakGlass" }, t("modeBreakGlass")),
          h("option", { value: "record", selected: initialMode === "record" }, t("modeRecord")),
          h("option", { value: "agency" }, t("modeAgency")),
        ),
      ),
      h("div", { class: "chosen-record" }, h("span", {}, t("recordChosen")), chosenLabel),
      h("label", {}, t("recordIdPaste"), h("input", { name: "recordId", id: "audit-record", placeholder: t("recordIdPlaceholder"), autocomplete: "off" })),
      h("label", {}, t("agencyChosen"), agencySelect),
      h("label", {}, t("since"), h("input", { name: "since", id: "audit-since", type: "datetime-local", value: params.get("record") ? "" : todayStart() })),
      h("label", {}, t("until"), h("input", { name: "until", id: "audit-until", type: "datetime-local" })),
    ),
    h(
      "div",
      { class: "row" },
      h("button", { type: "submit", id: "audit-search" }, t("search")),
      h("button", { type: "button", id: "audit-export" }, t("exportJsonl")),
      h("button", { type: "button", id: "verify-chain" }, t("verifyChain")),
    ),
  );
  const filter = (): Filter => ({
    mode: formValue(form, "mode") as Mode,
    // A pasted id is asked for as it is; otherwise the record the page was opened with.
    recordId: formValue(form, "recordId") || chosen.id,
    agencyId: formValue(form, "agencyId"),
    since: formValue(form, "since"),
    until: formValue(form, "until"),
  });
  const invalid = (f: Filter): string | null =>
    f.mode === "record" && !f.recordId ? t("enterRecordId") : f.mode === "agency" && !f.agencyId ? t("enterAgencyId") : null;

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const f = filter();
    const bad = invalid(f);
    if (bad) return mount(results, notice(bad, "error"));
    if (f.mode === "record" && f.recordId !== chosenLabel.dataset.record) {
      chosen.id = f.recordId;
      void showChosen(f.recordId);
    }
    void show(results, f, null, true);
  });
  // Choosing an agency, or pasting a record id, is asking for that filter.
  const modeSelect = form.querySelector("#audit-mode") as HTMLSelectElement;
  agencySelect.addEventListener("change", () => {
    if (agencySelect.value) modeSelect.value = "agency";
  });
  (form.querySelector("#audit-record") as HTMLInputElement).addEventListener("input", (e) => {
    if ((e.target as HTMLInputElement).value.trim()) modeSelect.value = "record";
  });
  (form.querySelector("#audit-export") as HTMLButtonElement).addEventListener("click", () => {
    const f = filter();
    const bad = invalid(f);
    if (bad) return mount(results, notice(bad, "error"));
    void exportAll(results, f);
  });
  (form.querySelector("#verify-chain") as HTMLButtonElement).addEventListener("click", () => void verify(chain));
  mount(root, h("h1", {}, t("auditTitle")), h("div", { class: "audit-top" }, today, chain), form, results);
  await Promise.all([
    verify(chain),
    dashboard(today),
    show(results, filter(), null, true),
    chosen.id ? showChosen(chosen.id) : Promise.resolve(),
    memberAgencies().then((agencies) => {
      for (const a of agencies) {
        agencySelect.append(h("option", { value: a.id }, a.name ?? `${t("unnamedAgency")}（${code("agencyType", a.agencyType)}）`));
      }
    }),
  ]);
}

/** Today's figures: refused requests, break-glass awaiting review, unusual volumes. */
async function dashboard(out: HTMLElement): Promise<void> {
  const since = instant(todayStart());
  const r = await gql<{
    denied: Page;
    breakGlass: Page;
    volume: { clientId: string; agencyIds: string[]; count: number; threshold: number }[];
  }>(
    AUDIT_TODAY,
    { since },
  );
  const err = topLevelError(r);
  if (err || !r.data) return mount(out, h("h2", { id: "h-today" }, t("auditToday")), notice(err ? errorText(err) : t("noData"), "error"));
  const n = (p: Page): string => `${p.entries.length}${p.nextAfterSeq !== null ? "+" : ""}`;
  const names = await agencyNames(r.data.volume.flatMap((v) => v.agencyIds));
  mount(
    out,
    h("h2", { id: "h-today" }, t("auditToday")),
    h(
      "dl",
      { class: "tiles" },
      h("div", { class: "tile", id: "tile-denied" }, h("dt", {}, t("deniedToday")), h("dd", {}, n(r.data.denied))),
      h("div", { class: `tile${r.data.breakGlass.entries.length ? " warn" : ""}`, id: "tile-break-glass" }, h("dt", {}, t("breakGlassUnreviewed")), h("dd", {}, n(r.data.breakGlass))),
      h("div", { class: `tile${r.data.volume.length ? " warn" : ""}`, id: "tile-volume" }, h("dt", {}, t("unusualVolume")), h("dd", {}, r.data.volume.length)),
    ),
    r.data.volume.length
      ? h(
          "ul",
          { id: "volume-alerts" },
          r.data.volume.map((v) => h("li", {}, t("volumeAlert", { who: v.agencyIds.map((a) => names.get(a) ?? a).join("、"), count: v.count, threshold: Math.round(v.threshold) }))),
        )
      : null,
  );
}

async function verify(out: HTMLElement): Promise<void> {
  mount(out, h("h2", {}, t("hashChain")), notice(t("verifying")));
  const r = await gql<{ auditChainStatus: { ok: boolean; checked: number; firstBrokenSeq: number | null; reason: string | null } }>(
    CHAIN,
  );
  const err = topLevelError(r);
  if (err || !r.data) return mount(out, h("h2", {}, t("hashChain")), notice(err ? errorText(err) : t("noData"), "error"));
  const s = r.data.auditChainStatus;
  mount(
    out,
    h("h2", {}, t("hashChain")),
    s.ok
      ? h("p", { class: "notice ok", id: "chain-ok", role: "status" }, t("chainIntact", { n: s.checked }))
      : h("p", { class: "notice error", id: "chain-broken", role: "alert" }, t("chainBroken", { seq: s.firstBrokenSeq ?? "?", n: s.checked })),
  );
}

async function show(out: HTMLElement, f: Filter, after: number | null, fresh: boolean): Promise<void> {
  // A search made while the list opened with the page (or an earlier search) is answered: only
  // the newest search's entries are shown; a next page belongs to the search it continues.
  const newest = fresh ? startLoad(out) : sameLoad(out);
  if (fresh) mount(out, notice(t("loading")));
  let page: Page;
  try {
    page = await fetchPage(f, after);
  } catch (err) {
    if (newest()) mount(out, notice(err instanceof Error ? err.message : t("requestFailed"), "error"));
    return;
  }
  const [names, purposes] = await Promise.all([agencyNames(page.entries.map((e) => e.agencyId)), config()]);
  if (!newest()) return;
  const purpose = new Map(purposes.purposes.map((p) => [p.code, lang() === "en" ? p.code.replace(/_/g, " ") : p.zh]));
  let table = out.querySelector<HTMLTableElement>("#audit-table");
  if (fresh || !table) {
    table = h(
      "table",
      { class: "list", id: "audit-table" },
      h(
        "thead",
        {},
        h("tr", {}, [t("colSeq"), t("colWhen"), t("colAgency"), t("colRole"), t("colPurpose"), t("colOperation"), t("colDecision"), t("colRecords"), t("colMasked"), t("colDenied"), t("colRows")].map((c) => h("th", { scope: "col" }, c))),
      ),
    );
    mount(out, page.entries.length === 0 ? notice(t("noEntries")) : null, h("div", { class: "table-scroll" }, table));
  }
  out.querySelector("#audit-more")?.remove();
  // Each page of entries is a group of rows of its own, headed by the button that names its records.
  const group = h("tbody", { class: "audit-page" });
  const nameables = page.entries.flatMap((e) => e.records).filter(nameable);
  if (nameables.length) group.append(pageHead(table.tBodies.length + 1, group, nameables));
  for (const e of page.entries) group.append(row(e, names, purpose));
  if (page.entries.length) table.append(group);
  if (page.nextAfterSeq !== null) {
    out.append(h("button", { type: "button", id: "audit-more", onclick: () => void show(out, f, page.nextAfterSeq, false) }, t("more")));
  }
}

/**
 * The fields an entry masked or refused, in words (人员档案的身份证号), folded: the count shows, the
 * list opens on demand, with a button that copies their technical names (`Person.id_number`).
 */
function folded(items: string[]): HTMLElement | string {
  if (items.length === 0) return "—";
  return h(
    "details",
    {},
    h("summary", {}, t("nFields", { n: items.length })),
    h("ul", { class: "fields" }, items.map((path) => h("li", { "data-field": path }, fieldPathLabel(path)))),
    copyButton(items.join("\n"), t("copyFieldPaths")),
  );
}

/**
 * What an entry's request did, in words: the console's own requests and the server's entries by
 * name (查看人员档案), any other request by kind: 其他查询, 其他更改, 其他操作. The words come from
 * what the server knows the request was (`knownOperation`: the console's own document by its query
 * hash), never from the operation name, which a client chooses: an agency system naming its own
 * query `ProfileFacts` is 其他查询 here. The name it chose is behind a copy button, for the auditor
 * who asks the system's owner about it.
 */
function operationView(e: Entry): HTMLElement {
  const op = e.operation;
  const kind = op.split(" ")[0];
  const known = e.knownOperation;
  const said = known && hasCode("operation", known)
    ? code("operation", known)
    : t(kind === "query" ? "opOtherQuery" : kind === "mutation" ? "opOtherChange" : "opOther");
  return h("span", { class: "operation", "data-operation": op }, said, " ", copyButton(op, t("copyOperation")));
}

/**
 * A reason on an entry in words; one the catalogue does not know yet (a newer server) is said as
 * "other reason" with its code verbatim, which an auditor needs to look it up.
 */
function reasonView(r: string): HTMLElement {
  if (hasCode("reason", r)) return h("span", { "data-reason": r }, code("reason", r));
  return h("span", { "data-reason": r }, `${t("otherReason")} `, h("code", {}, r));
}

function row(e: Entry, names: Map<string, string>, purpose: Map<string, string>): HTMLElement {
  return h(
    "tr",
    { "data-seq": e.seq, "data-agency": e.agencyId ?? "", class: e.breakGlass ? "break-glass" : e.decision === "allow" ? "" : "refused" },
    h("td", {}, e.seq),
    h("td", {}, fmtDateTime(e.at)),
    h("td", { class: "agency" }, e.agencyId ? names.get(e.agencyId) ?? code("agencyType", e.agencyType) : "—"),
    h("td", {}, e.role ? code("userRole", e.role) : "—"),
    h("td", { "data-purpose": e.purpose ?? "" }, e.purpose ? purpose.get(e.purpose) ?? code("reason", e.purpose) : "—"),
    h("td", {}, operationView(e)),
    h(
      "td",
      {},
      code("decision", e.decision),
      e.reasons.length ? h("small", { class: "reasons" }, "（", e.reasons.map((r, i) => [i > 0 ? "、" : "", reasonView(r)]), "）") : null,
      e.breakGlass ? h("strong", {}, ` ${t("breakGlassWord")}：${e.breakGlassJustification ?? ""}`) : null,
    ),
    h("td", { class: "records" }, recordsView(e.records)),
    h("td", { class: "masked-fields" }, folded(e.maskedFields)),
    h("td", { class: "denied-fields" }, folded(e.deniedFields)),
    h("td", {}, e.resultSize),
  );
}

/** Every entry the filter selects, page by page, saved as a JSON Lines file on this device. */
async function exportAll(out: HTMLElement, f: Filter): Promise<void> {
  const lines: string[] = [];
  let after: number | null = null;
  try {
    do {
      const page = await fetchPage(f, after);
      for (const e of page.entries) lines.push(JSON.stringify(e));
      after = page.nextAfterSeq;
    } while (after !== null && lines.length < 100_000);
  } catch (err) {
    return mount(out, notice(err instanceof Error ? err.message : t("exportFailed"), "error"));
  }
  const blob = new Blob([lines.join("\n") + (lines.length ? "\n" : "")], { type: "application/x-ndjson" });
  const url = URL.createObjectURL(blob);
  const a = h("a", { href: url, download: `audit-${f.mode}-${todayBeijing()}.jsonl` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  out.prepend(notice(t("exported", { n: lines.length }), "ok"));
}
