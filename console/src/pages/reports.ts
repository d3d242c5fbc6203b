// The police inbox of 强制报告: reports routed to this agency, newest first, to acknowledge and
// accept (受理). Every field comes through the API's policy like any other read.

import { errorText, gql, topLevelError } from "../api";
import { h, mount, notice } from "../dom";
import { href } from "../router";

interface Report {
  id: string;
  childId: string;
  situation: string | null;
  status: string | null;
  summary: string | null;
  filedAt: string | null;
  reporterAgencyId: string | null;
  acknowledgedAt: string | null;
  caseId: string | null;
}

export const SITUATIONS: [string, string][] = [
  ["LIVING_ALONE", "独居无人监护 living alone"],
  ["MISSING", "失踪 missing"],
  ["GUARDIAN_INCAPABLE", "监护人丧失监护能力 guardian incapable"],
  ["GUARDIAN_NEGLECT", "监护人不履行监护职责 guardian neglect"],
  ["DOMESTIC_VIOLENCE", "疑似家庭暴力 suspected domestic violence"],
  ["INJURY_OR_HARM", "疑似意外伤害或不法侵害 injury or harm"],
];

const INBOX = `query Inbox { reportsInbox { id childId caseId situation status summary filedAt acknowledgedAt reporterAgencyId } }`;

export async function renderReports(root: HTMLElement): Promise<void> {
  const out = h("div", { id: "inbox" }, notice("Loading…"));
  mount(root, h("h1", {}, "Mandatory reports 强制报告"), out);
  await load(out);
}

async function load(out: HTMLElement): Promise<void> {
  const r = await gql<{ reportsInbox: Report[] }>(INBOX);
  const err = topLevelError(r);
  if (err || !r.data) return mount(out, notice(err ? errorText(err) : "No data.", "error"));
  const rows = r.data.reportsInbox;
  if (rows.length === 0) return mount(out, notice("No reports routed to your agency."));
  mount(
    out,
    h(
      "table",
      { class: "list", id: "inbox-table" },
      h("thead", {}, h("tr", {}, ["Filed", "Situation", "Child", "From", "Status", "Summary", ""].map((c) => h("th", {}, c)))),
      h(
        "tbody",
        {},
        rows.map((rep) =>
          h(
            "tr",
            { "data-report": rep.id, "data-child": rep.childId },
            h("td", {}, rep.filedAt ? new Date(rep.filedAt).toLocaleString() : "—"),
            h("td", { class: "situation" }, rep.situation ?? "—"),
            h("td", {}, h("a", { href: href(`person/${encodeURIComponent(rep.childId)}`), class: "person-link" }, rep.childId)),
            h("td", {}, rep.reporterAgencyId ?? "—"),
            h("td", { class: "status" }, rep.status ?? "—"),
            h("td", { class: "summary" }, rep.summary ?? h("span", { class: "denied" }, "not permitted")),
            h(
              "td",
              {},
              !rep.acknowledgedAt ? action(out, "acknowledgeReport", rep.id, "Acknowledge 签收") : null,
              rep.status === "filed" || rep.status === "acknowledged" ? action(out, "acceptReport", rep.id, "Accept 受理") : null,
            ),
          ),
        ),
      ),
    ),
  );
}

function action(out: HTMLElement, mutation: string, id: string, label: string): HTMLElement {
  return h(
    "button",
    {
      type: "button",
      class: `report-${mutation}`,
      onclick: async () => {
        const r = await gql<Record<string, unknown>>(`mutation Act($id: ID!) { ${mutation}(reportId: $id) { id status } }`, { id });
        const err = topLevelError(r) ?? r.errors[0];
        if (err) return out.prepend(notice(errorText(err), "error"));
        await load(out);
      },
    },
    label,
  );
}
