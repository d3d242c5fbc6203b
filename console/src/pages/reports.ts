// The police inbox of 强制报告: reports routed to this agency, newest first, to acknowledge and
// accept (受理) within the deadline, counted down on the page, and once accepted the 应急处置
// measures and 通报乡镇 in the same row. The child, the deadline and what to do come first (on a
// phone the table scrolls sideways and these are what shows). The child and the sender are
// shown by name (the child's name through the same policy as any read).

import { errorText, type GqlResult, Offline, gql, topLevelError } from "../api";
import { type Child, h, mount, notice, submitting } from "../dom";
import { code, codeOptions, fmtDateTime, t } from "../i18n";
import { agencyNames, personNames } from "../me";
import { href } from "../router";
import { emergencyActions } from "./worklist";
import { INBOX, INBOX_CASES, REPORT_ACT } from "../documents";

interface Report {
  id: string;
  childId: string;
  situation: string | null;
  status: string | null;
  summary: string | null;
  filedAt: string | null;
  acceptDueAt: string | null;
  reporterAgencyId: string | null;
  acknowledgedAt: string | null;
  caseId: string | null;
}

/** The situations a report may name, as the server's enum values (upper case). */
export function situations(): [string, string][] {
  return codeOptions("situation").map(([k, label]) => [k.toUpperCase(), label]);
}

// The cases the accepted reports opened, for 应急处置 beside the deadline (a role that may not
// read cases simply gets no measures column).

let countdown: number | undefined;

export async function renderReports(root: HTMLElement): Promise<void> {
  const out = h("div", { id: "inbox" }, notice(t("loading")));
  // Where a measure recorded in a row is said (the table is redrawn after it).
  mount(root, h("h1", {}, t("reportsTitle")), h("p", { class: "hint" }, t("reportsHint")), h("div", { id: "case-action-status", role: "status" }), out);
  await load(out);
}

function left(due: string | null): { text: string; late: boolean } | null {
  if (!due) return null;
  const ms = new Date(due).getTime() - Date.now();
  const minutes = Math.ceil(Math.abs(ms) / 60_000);
  return ms >= 0 ? { text: t("minutesLeft", { minutes }), late: false } : { text: t("minutesLate", { minutes }), late: true };
}

async function load(out: HTMLElement): Promise<void> {
  const r = await gql<{ reportsInbox: Report[] }>(INBOX);
  const err = topLevelError(r);
  if (err || !r.data) return mount(out, notice(err ? errorText(err) : t("noData"), "error"));
  const rows = r.data.reportsInbox;
  if (rows.length === 0) return mount(out, notice(t("noReports")));
  const [children, senders, cases] = await Promise.all([
    personNames(rows.map((rep) => rep.childId)),
    agencyNames(rows.map((rep) => rep.reporterAgencyId)),
    rows.some((rep) => rep.caseId && rep.status === "accepted") ? caseStatuses() : Promise.resolve(new Map<string, InboxCase>()),
  ]);
  const reload = () => load(out);
  mount(
    out,
    h(
      "table",
      { class: "list", id: "inbox-table" },
      h(
        "thead",
        {},
        h("tr", {}, [t("colChild"), t("colSituation"), t("colStatus"), t("colDeadline"), t("colActions"), t("colActionsCase"), t("colFiled"), t("colFrom"), t("colSummary")].map((c) => h("th", { scope: "col" }, c))),
      ),
      h(
        "tbody",
        {},
        rows.map((rep) => {
          const pending = rep.status === "filed" || rep.status === "acknowledged";
          const due = pending ? left(rep.acceptDueAt) : null;
          return h(
            "tr",
            { "data-report": rep.id, "data-child": rep.childId, "data-situation": rep.situation ?? "" },
            h("td", {}, h("a", { href: href(`person/${encodeURIComponent(rep.childId)}`), class: "person-link" }, children.get(rep.childId) ?? t("nameNotPermitted"))),
            h("td", { class: "situation" }, code("situation", rep.situation)),
            h("td", { class: "status", "data-code": rep.status ?? "" }, code("reportStatus", rep.status)),
            h("td", { class: `deadline${due?.late ? " late" : ""}`, "data-due": pending ? rep.acceptDueAt ?? "" : "" }, due ? due.text : "—"),
            h(
              "td",
              { "data-action-group": true },
              !rep.acknowledgedAt ? action(out, "acknowledgeReport", rep.id, t("acknowledge")) : null,
              pending ? action(out, "acceptReport", rep.id, t("accept")) : null,
              rep.caseId && !pending ? h("a", { href: href(`case/${encodeURIComponent(rep.caseId)}`), class: "button small open-case" }, t("openCase")) : null,
            ),
            h("td", { class: "measures" }, measures(rep, cases, reload)),
            h("td", {}, fmtDateTime(rep.filedAt)),
            h("td", { class: "sender" }, rep.reporterAgencyId ? senders.get(rep.reporterAgencyId) ?? t("unnamedAgency") : "—"),
            h("td", { class: "summary" }, rep.summary ?? h("span", { class: "denied" }, t("notPermittedShort"))),
          );
        }),
      ),
    ),
  );
  // The deadline counts down while the page is open.
  window.clearInterval(countdown);
  countdown = window.setInterval(() => {
    if (!document.body.contains(out)) return window.clearInterval(countdown);
    for (const cell of out.querySelectorAll<HTMLElement>("td.deadline[data-due]")) {
      const due = left(cell.dataset.due || null);
      if (!due) continue;
      cell.textContent = due.text;
      cell.classList.toggle("late", due.late);
    }
  }, 30_000);
}

interface InboxCase {
  id: string;
  status: string | null;
  policeAgencyId: string | null;
  allowedEmergencyActions: string[] | null;
}

async function caseStatuses(): Promise<Map<string, InboxCase>> {
  const r = await gql<{ protectionCases: InboxCase[] }>(INBOX_CASES);
  return new Map((r.data?.protectionCases ?? []).map((c) => [c.id, c]));
}

/** 应急处置 beside the deadline: the measures once the report is accepted and its case is in
 * emergency response; before that, what comes after acceptance; after, the case's stage. */
function measures(rep: Report, cases: Map<string, InboxCase>, reload: () => Promise<void>): Child {
  if (rep.status === "filed" || rep.status === "acknowledged") return h("span", { class: "hint" }, t("measuresAfterAccept"));
  const c = rep.caseId ? cases.get(rep.caseId) : undefined;
  if (!c) return "—";
  return emergencyActions(c, reload) ?? code("caseStatus", c.status);
}

function action(out: HTMLElement, mutation: keyof typeof REPORT_ACT, id: string, label: string): HTMLElement {
  return h(
    "button",
    {
      type: "button",
      class: `report-${mutation}`,
      onclick: submitting(async () => {
        let r: GqlResult<Record<string, unknown>>;
        try {
          r = await gql<Record<string, unknown>>(REPORT_ACT[mutation], { id });
        } catch (failed) {
          // No answer: said above the inbox like a refusal (whether it was done is not known).
          if (!(failed instanceof Offline)) throw failed;
          return out.prepend(notice(failed.message, "error"));
        }
        const err = topLevelError(r) ?? r.errors[0];
        if (err) return out.prepend(notice(errorText(err), "error"));
        await load(out);
      }),
    },
    label,
  );
}
