// 比对审核, /console/review: pairs of source records that may be one person, side by side with
// what each source says (as the field policy lets the caller see it), to merge or to mark as
// different people; a merge just made can be undone from the page.

import { gql, topLevelError } from "../api";
import { type Child, h, mount, notice, submitting } from "../dom";
import { code, fmtDate, t } from "../i18n";
import { divisionLabel, divisionNames, refused } from "./statistics";
import { act } from "./workflow";
import { MERGE, REJECT, REVIEWS, UNDO } from "../documents";

interface Mention {
  system: string;
  recordId: string;
  personId: string;
  role: string | null;
  name: string | null;
  idNumber: string | null;
  sex: string | null;
  birthDate: string | null;
  division: string | null;
  phone: string | null;
  linkMethod: string;
}
interface Review {
  id: number;
  score: number;
  status: string;
  left: Mention;
  right: Mention;
}


export async function renderReview(root: HTMLElement): Promise<void> {
  const status = h("div", { id: "review-status", "aria-live": "polite" });
  const undo = h("div", { id: "review-undo" });
  const list = h("div", { id: "reviews" }, notice(t("loading")));
  mount(root, h("h1", {}, t("reviewTitle")), h("p", { class: "hint" }, t("reviewHint")), status, undo, list);
  await load(list, status, undo);
}

async function load(out: HTMLElement, status: HTMLElement, undo: HTMLElement): Promise<void> {
  const r = await gql<{ matchReviews: { totalInScope: number; items: Review[] } }>(REVIEWS, { first: 20 });
  const err = topLevelError(r);
  if (err || !r.data) return mount(out, err ? refused(err, t("whatReview")) : notice(t("noData")));
  const { items, totalInScope } = r.data.matchReviews;
  out.dataset.state = "loaded";
  if (items.length === 0) return mount(out, notice(t("noReviews")));
  const places = await divisionNames(items.flatMap((i) => [i.left.division ?? "", i.right.division ?? ""]));
  const reload = (): Promise<void> => load(out, status, undo);
  mount(
    out,
    h("p", { class: "hint", id: "review-count" }, t("reviewCount", { n: totalInScope })),
    items.map((item, n) =>
      h(
        "section",
        { class: "card review", "data-review": String(item.id), "aria-labelledby": `h-review-${item.id}` },
        h("h2", { id: `h-review-${item.id}` }, t("reviewPair", { n: n + 1 }), " · ", t("score", { score: item.score.toFixed(2) })),
        h("div", { class: "side-by-side" }, side(t("leftRecord"), item.left, item.right, places), side(t("rightRecord"), item.right, item.left, places)),
        h(
          "div",
          { class: "row", "data-action-group": true },
          h(
            "button",
            {
              type: "button",
              class: "merge",
              onclick: submitting(async () => {
                const done = await act<{ mergeMatch: { mergeId: number | null; movedRecords: number } }>(
                  status,
                  t("whatMerge"),
                  MERGE,
                  { id: item.id },
                  (d) => t("merged", { n: d.mergeMatch.movedRecords }),
                  reload,
                );
                const mergeId = done?.mergeMatch.mergeId;
                if (mergeId != null) {
                  mount(
                    undo,
                    h(
                      "button",
                      {
                        type: "button",
                        id: "undo-merge",
                        onclick: submitting(() => act<{ undoMerge: { movedRecords: number } }>(status, t("whatUndo"), UNDO, { id: mergeId }, (d) => t("undone", { n: d.undoMerge.movedRecords }), async () => {
                          mount(undo);
                          await reload();
                        })),
                      },
                      t("undoMerge"),
                    ),
                  );
                }
              }),
            },
            t("merge"),
          ),
          h("button", { type: "button", class: "reject", onclick: submitting(() => act(status, t("whatReject"), REJECT, { id: item.id }, () => t("rejected"), reload)) }, t("reject")),
        ),
      ),
    ),
  );
}

function side(title: string, m: Mention, other: Mention, places: Map<string, string>): HTMLElement {
  const differs = (a: unknown, b: unknown): string => (a && b && a !== b ? "differs" : "");
  const row = (label: string, value: Child, cls = ""): Child[] => [h("dt", {}, label), h("dd", { class: cls }, value ?? "—")];
  return h(
    "div",
    { class: "review-side" },
    h("h3", {}, title, "：", code("system", m.system)),
    h(
      "dl",
      { class: "facts" },
      row(t("fName"), m.name ?? t("notPermittedShort"), differs(m.name, other.name)),
      row(t("fSex"), code("sex", m.sex), differs(m.sex, other.sex)),
      row(t("fBirth"), fmtDate(m.birthDate), differs(m.birthDate, other.birthDate)),
      row(t("fIdNumber"), m.idNumber ?? t("notPermittedShort"), differs(m.idNumber, other.idNumber)),
      row(t("fPhone"), m.phone ?? "—"),
      row(t("fDivision"), m.division ? divisionLabel(m.division, places) : "—", differs(m.division, other.division)),
      row(t("fRecordRole"), m.role ? code("role", m.role) : "—"),
      row(t("fLinkMethod"), code("linkMethod", m.linkMethod)),
    ),
  );
}
