// 监护协议, /console/agreements: the left-behind children of a division not safely entrusted
// (no valid 委托监护协议, or an entrusted guardian without capacity), each by name, and the form
// to record a 委托监护协议 or a 监护责任书 with the parents and guardian chosen by name.

import { gql, topLevelError } from "../api";
import { h, mount, notice, submitting } from "../dom";
import { code, fmtDate, t, todayBeijing } from "../i18n";
import { personNames } from "../me";
import { href } from "../router";
import { current } from "../session";
import { divisionLabel, divisionNames, refused } from "./statistics";
import { act, codeSelect, field, personSelect, statusLine } from "./workflow";
import { AGREEMENT_FAMILY, AGREEMENTS, FLAGS, RECORD_AGREEMENT } from "../documents";

interface Flag {
  childId: string;
  reason: string | null;
  guardianId: string | null;
  detail: string | null;
}
interface Named {
  id: string;
  name: string | null;
}


function inAYear(): string {
  const [y, m, d] = todayBeijing().split("-");
  return `${Number(y) + 1}-${m}-${d}`;
}

export async function renderAgreements(root: HTMLElement): Promise<void> {
  const home = current()?.claims.jurisdiction ?? "";
  const division = h("input", { id: "ag-division", value: home, inputmode: "numeric", pattern: "[0-9]{12}", required: true });
  const list = h("div", { id: "flags" }, notice(t("loading")));
  const form = h("div", { id: "agreement-form" });
  const load = (): Promise<void> => loadFlags(list, form, division.value.trim());
  mount(
    root,
    h("h1", {}, t("agreementsTitle")),
    h("p", { class: "hint" }, t("agreementsHint")),
    h(
      "form",
      {
        class: "row",
        id: "ag-filter",
        onsubmit: (e: Event) => {
          e.preventDefault();
          void load();
        },
      },
      field(t("divisionField"), division),
      h("button", { type: "submit" }, t("show")),
    ),
    h("section", { class: "card", "aria-labelledby": "h-flags" }, h("h2", { id: "h-flags" }, t("flagsTitle")), list),
    form,
  );
  await load();
}

async function loadFlags(out: HTMLElement, form: HTMLElement, division: string): Promise<void> {
  mount(out, notice(t("loading")));
  const r = await gql<{ agreementFlags: Flag[] }>(FLAGS, { d: division || null });
  const err = topLevelError(r);
  if (err || !r.data) return mount(out, err ? refused(err, t("whatFlags")) : notice(t("noData")));
  const flags = r.data.agreementFlags;
  out.dataset.state = "loaded";
  if (flags.length === 0) return mount(out, notice(t("noFlags")));
  const [names, places] = await Promise.all([
    personNames([...flags.map((f) => f.childId), ...flags.map((f) => f.guardianId).filter((g): g is string => Boolean(g))]),
    divisionNames([division]),
  ]);
  mount(
    out,
    h("p", { class: "hint" }, divisionLabel(division, places)),
    h(
      "table",
      { class: "list", id: "flags-table" },
      h("caption", { class: "sr-only" }, t("flagsTitle")),
      h("thead", {}, h("tr", {}, [t("colChild"), t("colFlag"), t("entrustedGuardian"), t("colActions")].map((x) => h("th", { scope: "col" }, x)))),
      h(
        "tbody",
        {},
        flags.map((f) => {
          const name = names.get(f.childId) ?? null;
          return h(
            "tr",
            { "data-child": f.childId, "data-reason": f.reason ?? "" },
            h("td", {}, h("a", { href: href(`person/${encodeURIComponent(f.childId)}`), class: "person-link" }, name ?? t("nameNotPermitted"))),
            h("td", {}, code("agreementFlag", f.reason), f.detail ? `（${code("agreementFlag", f.detail)}）` : ""),
            h("td", {}, f.guardianId ? names.get(f.guardianId) ?? t("nameNotPermitted") : "—"),
            h(
              "td",
              {},
              h(
                "button",
                { type: "button", class: "small record-for", onclick: () => void agreementForm(form, f.childId, name, () => loadFlags(out, form, division)) },
                t("recordAgreement"),
              ),
            ),
          );
        }),
      ),
    ),
  );
}

async function agreementForm(out: HTMLElement, childId: string, childName: string | null, reload: () => Promise<void>): Promise<void> {
  mount(out, notice(t("loading")));
  const r = await gql<{ person: Record<string, unknown> | null }>(AGREEMENT_FAMILY, { id: childId });
  const p = r.data?.person;
  const parents: (Named & { role: string })[] = [];
  const others = new Map<string, Named & { role: string }>();
  for (const rel of (p?.parents as { role: string; person: Named | null }[] | null) ?? []) {
    if (rel.person) parents.push({ ...rel.person, role: code("role", rel.role) });
  }
  for (const rel of (p?.guardians as { kind: string; person: Named | null }[] | null) ?? []) {
    if (rel.person) others.set(rel.person.id, { ...rel.person, role: code("guardianKind", rel.kind) });
  }
  const hh = p?.household as { members: { relationToHead: string; person: Named | null }[] } | null;
  for (const m of hh?.members ?? []) {
    if (m.person && m.person.id !== childId && !others.has(m.person.id) && !parents.some((x) => x.id === m.person?.id)) {
      others.set(m.person.id, { ...m.person, role: code("role", m.relationToHead) });
    }
  }
  const name = childName ?? (p?.name as string | null) ?? t("nameNotPermitted");
  const status = statusLine("agreement-status");
  const existing = h("div", { id: "child-agreements" });
  const showExisting = async (): Promise<void> => {
    const a = await gql<{ agreements: { id: string; kind: string | null; signedOn: string | null; validFrom: string | null; validTo: string | null; guardian: Named | null }[] }>(AGREEMENTS, { id: childId });
    const rows = a.data?.agreements ?? [];
    mount(
      existing,
      h("h3", {}, t("agreementsOf", { child: name })),
      rows.length === 0
        ? notice(t("noAgreements"))
        : h(
            "ul",
            { class: "plain" },
            rows.map((x) => h("li", { "data-kind": x.kind ?? "" }, `${code("agreementKind", x.kind)}：${x.guardian?.name ?? "—"}，${t("signedOn")} ${fmtDate(x.signedOn)}，${fmtDate(x.validFrom)} — ${fmtDate(x.validTo)}`)),
          ),
    );
  };
  if (parents.length === 0) {
    mount(out, h("section", { class: "card" }, h("h2", {}, t("recordAgreementFor", { child: name })), notice(t("noParentsVisible"), "error")));
    return;
  }
  const kind = codeSelect("ag-kind", "agreementKind", ["entrustment", "responsibility_letter"]);
  const guardian = personSelect("ag-guardian", [...others.values()]);
  const signed = h("input", { type: "date", id: "ag-signed", value: todayBeijing(), required: true });
  const from = h("input", { type: "date", id: "ag-from", value: todayBeijing(), required: true });
  const to = h("input", { type: "date", id: "ag-to", value: inAYear(), required: true });
  mount(
    out,
    h(
      "section",
      { class: "card", "aria-labelledby": "h-agreement-form" },
      h("h2", { id: "h-agreement-form", "data-child": childId }, t("recordAgreementFor", { child: name })),
      h(
        "form",
        {
          id: "record-agreement",
          onsubmit: submitting((e: Event) => {
            const parentIds = [...(e.currentTarget as HTMLFormElement).querySelectorAll<HTMLInputElement>("input[name=parent]:checked")].map((b) => b.value);
            const i = { kind: kind.value, childId, parentIds, guardianId: guardian.value || null, signedOn: signed.value, validFrom: from.value, validTo: to.value };
            return act(status, t("whatAgreement"), RECORD_AGREEMENT, { i }, () => t("agreementRecorded", { kind: code("agreementKind", kind.value) }), async () => {
              await showExisting();
              await reload();
            });
          }),
        },
        field(t("agreementKind"), kind),
        h(
          "fieldset",
          {},
          h("legend", {}, t("parentsSigning")),
          parents.map((x) => h("label", { class: "inline" }, h("input", { type: "checkbox", name: "parent", value: x.id, checked: true }), `${x.name ?? t("nameNotPermitted")}（${x.role}）`)),
        ),
        field(t("entrustedGuardian"), guardian),
        field(t("signedOn"), signed),
        field(t("validFrom"), from),
        field(t("validTo"), to),
        h("button", { type: "submit", id: "record-agreement-submit" }, t("recordAgreement")),
      ),
      status,
      existing,
    ),
  );
  await showExisting();
  out.scrollIntoView();
}
