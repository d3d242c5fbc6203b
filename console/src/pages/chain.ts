// 定期报表, /console/chain: the reporting chain 村 → 乡镇 → 县民政. The caller's own division's
// quarterly or annual report (figures, deadline, state) to submit, and the reports of the level
// below to approve or return with a note; each report downloadable as an Excel file. The level a
// report belongs to and who may decide it are the server's (protection/reporting.py).

import { gql, topLevelError } from "../api";
import { h, mount, notice, startLoad, submitting } from "../dom";
import { code, fmtDate, fmtDateTime, t } from "../i18n";
import { can, cachedMe } from "../me";
import { current } from "../session";
import { divisionLabel, divisionNames, keyLabel, refused } from "./statistics";
import { act, currentQuarter, field, statusLine } from "./workflow";
import { DECIDE_REPORT, PERIODIC, REPORT_FILE, SUBMIT } from "../documents";

interface KeyCount {
  key: string;
  count: number;
}
interface Periodic {
  division: string;
  level: string;
  kind: string;
  period: string;
  deadline: string;
  status: string;
  overdue: boolean;
  submittedAt: string | null;
  decidedAt: string | null;
  note: string | null;
  rows: { division: string; counts: KeyCount[] }[];
  totals: KeyCount[];
  lowerLevels: { division: string; status: string }[];
}


/** The last four quarters and the current and last year. */
function periods(): string[] {
  const [y, q] = currentQuarter().split("-Q").map(Number);
  const out: string[] = [];
  for (let i = 0; i < 4; i++) {
    const n = (y * 4 + q - 1 - i);
    out.push(`${Math.floor(n / 4)}-Q${(n % 4) + 1}`);
  }
  return [...out, String(y), String(y - 1)];
}

function periodLabel(p: string): string {
  const m = /^(\d{4})-Q(\d)$/.exec(p);
  return m ? `${m[1]}年第${m[2]}季度` : `${p}年`;
}

export async function renderChain(root: HTMLElement, params: URLSearchParams): Promise<void> {
  const home = current()?.claims.jurisdiction ?? "";
  const period = h(
    "select",
    { id: "chain-period" },
    periods().map((p) => h("option", { value: p, selected: p === (params.get("period") ?? currentQuarter()) }, periodLabel(p))),
  );
  const own = h("div", { id: "own-report" }, notice(t("loading")));
  const lower = h("div", { id: "lower-reports" });
  const status = statusLine("chain-status");
  const reload = (): Promise<void> => load(own, lower, status, home, period.value);
  period.addEventListener("change", () => {
    // Until the chosen period's report comes, the page shows none: the report drawn before (and
    // its submit, approve and return buttons) is another period's, and a tap on it would act on that one.
    delete own.dataset.period;
    delete own.dataset.state;
    mount(own, notice(t("loading")));
    mount(lower);
    void reload();
  });
  mount(root, h("h1", {}, t("chainTitle")), h("p", { class: "hint" }, t("chainHint")), h("div", { class: "row" }, field(t("periodLabel"), period)), status, own, lower);
  await reload();
}

async function load(own: HTMLElement, lower: HTMLElement, status: HTMLElement, division: string, period: string): Promise<void> {
  // An answer to an older load (another period chosen meanwhile) is not drawn.
  const newest = startLoad(own);
  const r = await gql<{ periodicReport: Periodic }>(PERIODIC, { d: division, p: period });
  if (!newest()) return;
  const err = topLevelError(r);
  if (err || !r.data) {
    mount(lower);
    return mount(own, err ? refused(err, t("whatPeriodic")) : notice(t("noData")));
  }
  const rep = r.data.periodicReport;
  const places = await divisionNames([rep.division, ...rep.rows.map((x) => x.division), ...rep.lowerLevels.map((x) => x.division)]);
  if (!newest()) return;
  const reload = (): Promise<void> => load(own, lower, status, division, period);
  const me = cachedMe();
  const mayDecide = can(me, "approve_periodic_report");
  const maySubmit = can(me, "submit_periodic_report") && (rep.status === "draft" || rep.status === "returned");
  const keys = [...new Set(rep.totals.map((c) => c.key))];
  own.dataset.state = rep.status;
  own.dataset.period = rep.period;
  mount(
    own,
    h(
      "section",
      { class: "card", "aria-labelledby": "h-own-report" },
      h("h2", { id: "h-own-report" }, t("ownReport", { division: divisionLabel(rep.division, places) })),
      h(
        "dl",
        { class: "facts" },
        [
          [t("fLevel"), code("reportLevel", rep.level)],
          [t("fPeriod"), `${periodLabel(rep.period)}（${code("reportKind", rep.kind)}）`],
          [t("fDeadline"), `${fmtDate(rep.deadline)}${rep.overdue ? `（${t("overdueReport")}）` : ""}`],
          [t("fReportStatus"), h("span", { id: "own-status", "data-code": rep.status }, code("periodicStatus", rep.level === "county" && rep.status === "submitted" ? "submitted_upward" : rep.status))],
          [t("fSubmittedAt"), fmtDateTime(rep.submittedAt)],
          [t("fDecidedAt"), fmtDateTime(rep.decidedAt)],
          rep.note ? [t("fReturnNote"), rep.note] : null,
        ]
          .filter((x): x is [string, string | HTMLElement] => x !== null)
          .map(([label, value]) => [h("dt", {}, label), h("dd", {}, value)]),
      ),
      h("h3", {}, t("figuresTitle")),
      rep.rows.length === 0
        ? notice(t("noData"))
        : h(
            "div",
            { class: "table-scroll" },
            h(
              "table",
              { class: "list", id: "report-figures" },
              h("caption", { class: "sr-only" }, t("figuresTitle")),
              h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("fDivision")), keys.map((k) => h("th", { scope: "col" }, keyLabel(k))))),
              h(
                "tbody",
                {},
                rep.rows.map((row) => {
                  const by = new Map(row.counts.map((c) => [c.key, c.count]));
                  return h("tr", {}, h("th", { scope: "row" }, divisionLabel(row.division, places)), keys.map((k) => h("td", {}, String(by.get(k) ?? 0))));
                }),
              ),
            ),
          ),
      h(
        "div",
        { class: "row" },
        maySubmit
          ? h(
              "button",
              { type: "button", id: "submit-report", onclick: submitting(() => act(status, t("whatSubmit"), SUBMIT, { d: division, p: period }, () => t("submitted"), reload)) },
              t("submitPeriodic"),
            )
          : null,
        download(status, rep.division, period),
      ),
    ),
  );
  if (rep.level === "village") return mount(lower);
  mount(
    lower,
    h(
      "section",
      { class: "card", "aria-labelledby": "h-lower" },
      h("h2", { id: "h-lower" }, t("lowerTitle")),
      rep.lowerLevels.length === 0
        ? notice(t("noLower"))
        : h(
            "table",
            { class: "list", id: "lower-table" },
            h("caption", { class: "sr-only" }, t("lowerTitle")),
            h("thead", {}, h("tr", {}, [t("fDivision"), t("fReportStatus"), t("colActions")].map((x) => h("th", { scope: "col" }, x)))),
            h(
              "tbody",
              {},
              rep.lowerLevels.map((low) => {
                const note = h("input", { class: "return-note", "aria-label": t("returnNote"), placeholder: t("returnNote") });
                const label = divisionLabel(low.division, places);
                const decide = (approve: boolean): Promise<unknown> =>
                  act(status, t("whatDecideReport"), DECIDE_REPORT, { d: low.division, p: period, a: approve, n: approve ? null : note.value.trim() || null }, () => t(approve ? "approved" : "returned", { division: label }), reload);
                return h(
                  "tr",
                  { "data-division": low.division, "data-status": low.status },
                  h("th", { scope: "row" }, label),
                  h("td", {}, code("periodicStatus", low.status)),
                  h(
                    "td",
                    { class: "lower-actions", "data-action-group": true },
                    mayDecide && low.status === "submitted"
                      ? [
                          h("button", { type: "button", class: "small approve", onclick: submitting(() => decide(true)) }, t("approve")),
                          note,
                          h("button", { type: "button", class: "small return", onclick: submitting(() => decide(false)) }, t("returnReport")),
                        ]
                      : null,
                    low.status === "submitted" || low.status === "approved" ? download(status, low.division, period) : null,
                  ),
                );
              }),
            ),
          ),
    ),
  );
}

function download(status: HTMLElement, division: string, period: string): HTMLElement {
  return h(
    "button",
    {
      type: "button",
      class: "small link download-xlsx",
      "data-division": division,
      onclick: async () => {
        const r = await gql<{ periodicReportFile: { filename: string; contentType: string; contentBase64: string } }>(REPORT_FILE, { d: division, p: period });
        const f = r.data?.periodicReportFile;
        if (!f) return mount(status, notice(t("downloadFailed"), "error"));
        const bytes = Uint8Array.from(atob(f.contentBase64), (ch) => ch.charCodeAt(0));
        const url = URL.createObjectURL(new Blob([bytes], { type: f.contentType }));
        const a = h("a", { href: url, download: f.filename });
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 10_000);
      },
    },
    t("downloadXlsx"),
  );
}
