// Find a person: by name (homophones tolerated), by resident ID number, or by division (picked by
// its name from the caller's scope, or typed as a code).

import { type GqlError, type GqlResult, errorsByPath, errorText, gql, topLevelError } from "../api";
import { FieldView } from "../fields";
import { formValue, h, mount, notice, startLoad } from "../dom";
import { t } from "../i18n";
import { can, cachedMe } from "../me";
import { divisionLabel, divisionNames, divisionPicker } from "./statistics";
import { href } from "../router";
import { BY_ID_NUMBER, IN_DIVISION, SEARCH } from "../documents";

interface Row {
  id: string;
  name: string | null;
  sex: string | null;
  birthDate: string | null;
  division: string | null;
}

interface Conn {
  edges: { node: Row }[];
}


export async function renderSearch(root: HTMLElement, params: URLSearchParams): Promise<void> {
  const results = h("div", { id: "search-results" });
  const form = h(
    "form",
    { id: "search", class: "card" },
    h("h1", {}, t("searchTitle")),
    h(
      "div",
      { class: "row" },
      h("label", {}, t("nameLabel"), h("input", { name: "name", id: "search-name", value: params.get("name") ?? "" })),
      h("label", {}, t("orIdNumber"), h("input", { name: "idNumber", id: "search-id-number" })),
      divisionPicker("search-division", (code) => {
        for (const [field, value] of [["name", ""], ["idNumber", ""], ["division", code]]) {
          const input = form.elements.namedItem(field);
          if (input instanceof HTMLInputElement) input.value = value;
        }
        void run(results, "", "", code);
      }),
      h("label", {}, t("orDivision"), h("input", { name: "division", id: "search-division", inputmode: "numeric" })),
      h("button", { type: "submit", id: "search-submit" }, t("search")),
    ),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void run(results, formValue(form, "name"), formValue(form, "idNumber"), formValue(form, "division"));
  });
  mount(root, form, results);
  if (params.get("name")) await run(results, params.get("name") ?? "", "", "");
}

/**
 * The refusal of the whole lookup (its root field null with an error at that path). A lookup by an
 * identifying value (a name, an ID number) is only for roles that see that value in full: for the
 * others it is said in words, with the way they may use instead (by division, names masked).
 */
function refusal(r: GqlResult<unknown>, field: string): HTMLElement | null {
  const err: GqlError | undefined = topLevelError(r) ?? r.errors.find((e) => e.path?.length === 1 && e.path[0] === field);
  if (!err) return null;
  const reason = err.extensions?.reason;
  if (reason === "lookup_not_permitted") {
    return h("div", { id: "lookup-refused" }, notice(t("lookupNotPermitted"), "error"), h("p", { class: "hint" }, t("lookupByDivisionHint")));
  }
  if (reason === "lookup_limit") return notice(t("lookupLimit"), "error");
  return notice(errorText(err), "error");
}

async function run(out: HTMLElement, name: string, idNumber: string, division: string): Promise<void> {
  // A search made while an earlier one is answered: only the newest one's people are shown.
  const newest = startLoad(out);
  const show = (el: HTMLElement): void => {
    if (newest()) mount(out, el);
  };
  mount(out, notice(t("searching")));
  let rows: Row[] = [];
  let view: FieldView;
  let prefix: (string | number)[];
  if (idNumber) {
    const r = await gql<{ personByIdNumber: Row | null }>(
      BY_ID_NUMBER,
      { n: idNumber },
    );
    const refused = refusal(r, "personByIdNumber");
    if (refused) return show(refused);
    if (!r.data?.personByIdNumber) return show(notice(t("noMatch"), "error"));
    rows = [r.data.personByIdNumber];
    view = new FieldView(errorsByPath(r));
    prefix = ["personByIdNumber"];
    return show(await table(rows, view, () => prefix));
  }
  if (division) {
    const r = await gql<{ people: Conn }>(
      IN_DIVISION,
      { d: division },
    );
    const refused = refusal(r, "people");
    if (refused) return show(refused);
    rows = r.data?.people.edges.map((e) => e.node) ?? [];
    view = new FieldView(errorsByPath(r));
    return show(await table(rows, view, (i) => ["people", "edges", i, "node"]));
  }
  if (!name) return show(notice(t("searchWhat")));
  const r = await gql<{ searchPeople: Conn }>(
    SEARCH,
    { n: name },
  );
  const refused = refusal(r, "searchPeople");
  if (refused) return show(refused);
  rows = r.data?.searchPeople.edges.map((e) => e.node) ?? [];
  view = new FieldView(errorsByPath(r));
  show(await table(rows, view, (i) => ["searchPeople", "edges", i, "node"]));
}

async function table(rows: Row[], view: FieldView, path: (i: number) => (string | number)[]): Promise<HTMLElement> {
  if (rows.length === 0) return notice(t("nobodyMatches"));
  const names = await divisionNames(rows.map((r) => r.division ?? "").filter((d) => /^\d{12}$/.test(d)));
  return h(
    "table",
    { class: "list", id: "people-table" },
    h("thead", {}, h("tr", {}, h("th", {}, t("colName")), h("th", {}, t("colSex")), h("th", {}, t("colBorn")), h("th", {}, t("colDivision")), h("th", {}, h("span", { class: "sr-only" }, t("colLinks"))))),
    h(
      "tbody",
      {},
      rows.map((row, i) =>
        h(
          "tr",
          { "data-person": row.id },
          h("td", {}, h("a", { href: href(`person/${encodeURIComponent(row.id)}`), class: "person-link" }, view.value([...path(i), "name"], row.name))),
          h("td", {}, view.value([...path(i), "sex"], row.sex, "sex")),
          h("td", {}, view.value([...path(i), "birthDate"], row.birthDate)),
          h("td", {}, row.division && names.get(row.division) ? h("span", { "data-field": [...path(i), "division"].join(".") }, divisionLabel(row.division, names)) : view.value([...path(i), "division"], row.division)),
          h("td", {}, can(cachedMe(), "trace_networks") ? h("a", { href: href(`network/${encodeURIComponent(row.id)}`), class: "network-link" }, t("networkLink")) : null),
        ),
      ),
    ),
  );
}
