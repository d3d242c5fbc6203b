// The auditor's review: who accessed which record, when, why and with what decision; the hash
// chain's verification status; and an export of the entries the filter selects.

import { errorText, gql, topLevelError } from "../api";
import { formValue, h, mount, notice } from "../dom";

interface Entry {
  seq: number;
  at: string;
  clientId: string | null;
  agencyId: string | null;
  agencyType: string | null;
  role: string | null;
  purpose: string | null;
  operation: string;
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

const ENTRY = `seq at clientId agencyId agencyType role purpose operation decision reasons records
  allowedFields maskedFields deniedFields breakGlass breakGlassJustification resultSize status`;

type Mode = "record" | "agency" | "denied" | "breakGlass";

const FIELD: Record<Mode, string> = {
  record: "auditAccessesToRecord",
  agency: "auditAccessesByAgency",
  denied: "auditDeniedAttempts",
  breakGlass: "auditBreakGlassUses",
};

interface Filter {
  mode: Mode;
  recordId: string;
  agencyId: string;
  since: string;
  until: string;
}

function query(f: Filter): { text: string; vars: Record<string, unknown> } {
  const vars: Record<string, unknown> = {
    since: f.since ? new Date(f.since).toISOString() : null,
    until: f.until ? new Date(f.until).toISOString() : null,
  };
  const decl = ["$since: DateTime", "$until: DateTime", "$after: Int"];
  const args = ["since: $since", "until: $until", "first: 200", "afterSeq: $after"];
  if (f.mode === "record") {
    decl.push("$recordId: ID!");
    args.push("recordId: $recordId");
    vars.recordId = f.recordId;
  } else if (f.mode === "agency") {
    decl.push("$agencyId: String!");
    args.push("agencyId: $agencyId");
    vars.agencyId = f.agencyId;
  }
  return {
    text: `query Audit(${decl.join(", ")}) { page: ${FIELD[f.mode]}(${args.join(", ")}) { entries { ${ENTRY} } nextAfterSeq } }`,
    vars,
  };
}

async function fetchPage(f: Filter, after: number | null): Promise<Page> {
  const q = query(f);
  const r = await gql<{ page: Page }>(q.text, { ...q.vars, after });
  const err = topLevelError(r);
  if (err || !r.data) throw new Error(err ? errorText(err) : "No data.");
  return r.data.page;
}

export async function renderAudit(root: HTMLElement, params: URLSearchParams): Promise<void> {
  const results = h("div", { id: "audit-results" });
  const chain = h("div", { id: "chain-status", class: "card" }, h("h2", {}, "Hash chain 审计链"), h("p", { class: "hint" }, "Not verified yet in this view."));
  const form = h(
    "form",
    { id: "audit-filter", class: "card" },
    h("h1", {}, "Audit log 审计日志"),
    h(
      "div",
      { class: "row" },
      h(
        "label",
        {},
        "Show",
        h(
          "select",
          { name: "mode", id: "audit-mode" },
          h("option", { value: "record" }, "Accesses to a record"),
          h("option", { value: "agency" }, "Accesses by an agency"),
          h("option", { value: "denied" }, "Refused requests"),
          h("option", { value: "breakGlass" }, "Break-glass uses 应急"),
        ),
      ),
      h("label", {}, "Record id", h("input", { name: "recordId", id: "audit-record", placeholder: "person:…", value: params.get("record") ?? "" })),
      h("label", {}, "Agency id", h("input", { name: "agencyId", id: "audit-agency" })),
      h("label", {}, "Since", h("input", { name: "since", id: "audit-since", type: "datetime-local" })),
      h("label", {}, "Until", h("input", { name: "until", id: "audit-until", type: "datetime-local" })),
    ),
    h(
      "div",
      { class: "row" },
      h("button", { type: "submit", id: "audit-search" }, "Search"),
      h("button", { type: "button", id: "audit-export" }, "Export (JSON Lines)"),
      h("button", { type: "button", id: "verify-chain" }, "Verify chain"),
    ),
  );
  const filter = (): Filter => ({
    mode: formValue(form, "mode") as Mode,
    recordId: formValue(form, "recordId"),
    agencyId: formValue(form, "agencyId"),
    since: formValue(form, "since"),
    until: formValue(form, "until"),
  });
  const invalid = (f: Filter): string | null =>
    f.mode === "record" && !f.recordId ? "Enter a record id." : f.mode === "agency" && !f.agencyId ? "Enter an agency id." : null;

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const f = filter();
    const bad = invalid(f);
    if (bad) return mount(results, notice(bad, "error"));
    void show(results, f, null, true);
  });
  (form.querySelector("#audit-export") as HTMLButtonElement).addEventListener("click", () => {
    const f = filter();
    const bad = invalid(f);
    if (bad) return mount(results, notice(bad, "error"));
    void exportAll(results, f);
  });
  (form.querySelector("#verify-chain") as HTMLButtonElement).addEventListener("click", () => void verify(chain));
  mount(root, form, chain, results);
  void verify(chain);
  if (params.get("record")) await show(results, filter(), null, true);
}

async function verify(out: HTMLElement): Promise<void> {
  mount(out, h("h2", {}, "Hash chain 审计链"), notice("Verifying…"));
  const r = await gql<{ auditChainStatus: { ok: boolean; checked: number; firstBrokenSeq: number | null; reason: string | null } }>(
    "query Chain { auditChainStatus { ok checked firstBrokenSeq reason } }",
  );
  const err = topLevelError(r);
  if (err || !r.data) return mount(out, h("h2", {}, "Hash chain 审计链"), notice(err ? errorText(err) : "No data.", "error"));
  const s = r.data.auditChainStatus;
  mount(
    out,
    h("h2", {}, "Hash chain 审计链"),
    s.ok
      ? h("p", { class: "notice ok", id: "chain-ok", role: "status" }, `Intact: ${s.checked} entries verified.`)
      : h("p", { class: "notice error", id: "chain-broken", role: "alert" }, `Broken at entry ${s.firstBrokenSeq ?? "?"}: ${s.reason ?? ""} (${s.checked} checked).`),
  );
}

async function show(out: HTMLElement, f: Filter, after: number | null, fresh: boolean): Promise<void> {
  if (fresh) mount(out, notice("Loading…"));
  let page: Page;
  try {
    page = await fetchPage(f, after);
  } catch (err) {
    return mount(out, notice(err instanceof Error ? err.message : "Failed.", "error"));
  }
  let body = out.querySelector("tbody");
  if (fresh || !body) {
    body = h("tbody", {});
    mount(
      out,
      page.entries.length === 0 ? notice("No entries match.") : null,
      h(
        "table",
        { class: "list", id: "audit-table" },
        h(
          "thead",
          {},
          h("tr", {}, ["#", "When", "Agency", "Role", "Purpose", "Operation", "Decision", "Records", "Masked", "Denied", "Rows"].map((c) => h("th", {}, c))),
        ),
        body,
      ),
    );
  }
  out.querySelector("#audit-more")?.remove();
  for (const e of page.entries) body.append(row(e));
  if (page.nextAfterSeq !== null) {
    out.append(
      h("button", { type: "button", id: "audit-more", onclick: () => void show(out, f, page.nextAfterSeq, false) }, "More"),
    );
  }
}

function row(e: Entry): HTMLElement {
  return h(
    "tr",
    { "data-seq": e.seq, class: e.breakGlass ? "break-glass" : e.decision === "allow" ? "" : "refused" },
    h("td", {}, e.seq),
    h("td", {}, new Date(e.at).toLocaleString()),
    h("td", { class: "agency" }, e.agencyId ?? e.clientId ?? "—"),
    h("td", {}, e.role ?? "—"),
    h("td", {}, e.purpose ?? "—"),
    h("td", {}, e.operation),
    h("td", {}, e.decision, e.reasons.length ? h("small", {}, ` (${e.reasons.join(", ")})`) : null, e.breakGlass ? h("strong", {}, ` 应急: ${e.breakGlassJustification ?? ""}`) : null),
    h("td", { class: "records" }, e.records.join(" ")),
    h("td", {}, e.maskedFields.join(" ")),
    h("td", {}, e.deniedFields.join(" ")),
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
    return mount(out, notice(err instanceof Error ? err.message : "Export failed.", "error"));
  }
  const blob = new Blob([lines.join("\n") + (lines.length ? "\n" : "")], { type: "application/x-ndjson" });
  const url = URL.createObjectURL(blob);
  const a = h("a", { href: url, download: `audit-${f.mode}-${new Date().toISOString().slice(0, 19)}.jsonl` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  out.prepend(notice(`Exported ${lines.length} entries.`, "ok"));
}
