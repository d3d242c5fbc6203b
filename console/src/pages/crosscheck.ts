// 数据比对, /console/crosscheck: for one division, the children found in one source and missing
// from another, school-age children not enrolled, and the facts the sources disagree on (MCA
// notice §3.3), with the children the caller may see by name.

import { gql, topLevelError } from "../api";
import { h, mount, notice, startLoad } from "../dom";
import { code, fmtDate, t } from "../i18n";
import { href } from "../router";
import { current } from "../session";
import { divisionLabel, divisionNames, divisionPicker, refused } from "./statistics";
import { field } from "./workflow";
import { CROSS_CHECK } from "../documents";

interface Report {
  asOf: string;
  division: string;
  children: number | null;
  findings: { finding: string; count: number | null; examples: { id: string; name: string | null }[] }[];
  conflictingAttributes: { attribute: string; count: number | null }[];
}


export async function renderCrosscheck(root: HTMLElement, params: URLSearchParams): Promise<void> {
  const home = params.get("division") ?? current()?.claims.jurisdiction ?? "";
  const division = h("input", { id: "cc-division", value: home, inputmode: "numeric", pattern: "[0-9]{12}", required: true });
  const out = h("div", { id: "crosscheck" }, notice(t("loading")));
  mount(
    root,
    h("h1", {}, t("crosscheckTitle")),
    h("p", { class: "hint" }, t("crosscheckHint")),
    h(
      "form",
      {
        class: "row",
        id: "cc-filter",
        onsubmit: (e: Event) => {
          e.preventDefault();
          void load(out, division.value.trim());
        },
      },
      divisionPicker("cc-division", (code) => {
        division.value = code;
      }),
      field(t("divisionField"), division),
      h("button", { type: "submit", id: "cc-submit" }, t("crosscheckRun")),
    ),
    out,
  );
  // Reading every child of a county takes seconds: the report is made when asked for, except
  // when the link names the division (?division=…).
  if (params.get("division")) await load(out, home);
  else mount(out, notice(t("crosscheckOnDemand")));
}

async function load(out: HTMLElement, division: string): Promise<void> {
  // Asked again (another division) before the first report came: the newest is the one shown.
  const newest = startLoad(out);
  if (!/^\d{12}$/.test(division)) return mount(out, notice(t("divisionIs12"), "error"));
  mount(out, notice(t("loading")));
  const r = await gql<{ crossCheck: Report }>(CROSS_CHECK, { d: division });
  if (!newest()) return;
  const err = topLevelError(r);
  if (err || !r.data) return mount(out, err ? refused(err, t("whatCrosscheck")) : notice(t("noData")));
  const rep = r.data.crossCheck;
  const places = await divisionNames([rep.division]);
  if (!newest()) return;
  out.dataset.state = "loaded";
  mount(
    out,
    h("p", { id: "cc-summary" }, t("crosscheckAsOf", { date: fmtDate(rep.asOf), division: divisionLabel(rep.division, places), n: rep.children ?? "—" })),
    h(
      "table",
      { class: "list", id: "cc-findings" },
      h("caption", { class: "sr-only" }, t("crosscheckTitle")),
      h("thead", {}, h("tr", {}, [t("colFinding"), t("colCount"), t("colExamples")].map((x) => h("th", { scope: "col" }, x)))),
      h(
        "tbody",
        {},
        rep.findings.map((f) =>
          h(
            "tr",
            { "data-finding": f.finding },
            h("th", { scope: "row" }, code("crossFinding", f.finding)),
            h("td", { class: "count" }, f.count === null ? t("countSuppressed") : String(f.count)),
            h(
              "td",
              {},
              f.examples.length === 0
                ? "—"
                : f.examples.map((p, i) => [i ? "、" : "", h("a", { href: href(`person/${encodeURIComponent(p.id)}`), class: "person-link" }, p.name ?? t("nameNotPermitted"))]),
            ),
          ),
        ),
      ),
    ),
    h("h2", {}, t("ccConflictsTitle")),
    rep.conflictingAttributes.length === 0
      ? notice(t("noConflicts"))
      : h(
          "ul",
          { id: "cc-conflicts", class: "plain" },
          rep.conflictingAttributes.map((c) => h("li", {}, `${code("attribute", c.attribute)}：${c.count === null ? t("countSuppressed") : c.count}`)),
        ),
  );
}
