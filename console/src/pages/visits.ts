// Screening visits (定期走访) from the village page. Each entry carries the device's id (resending
// is safe) and the version of the child's visit record this phone last saw: when the record has
// moved on meanwhile the server answers CONFLICT and the entry waits here for the supervisor.

import { errorText, gql, Offline, topLevelError } from "../api";
import { formValue, h, mount, notice } from "../dom";
import { type Entry, enqueue, registerSender, update } from "../offline";

interface Child {
  id: string;
  name: string | null;
  birthDate: string | null;
}

interface Side {
  version: number;
  visitedOn: string | null;
  findings: string[];
  livingArrangement: string | null;
  notes: string | null;
}

// The codes the server's screening configuration accepts (it validates every one).
const FINDINGS: [string, string][] = [
  ["living_alone", "独居"],
  ["unsupervised", "无人监护"],
  ["guardian_ill", "监护人患病"],
  ["guardian_frail", "监护人年老体弱"],
  ["no_contact_with_parents", "与父母缺乏联系"],
  ["no_entrustment_agreement", "未签订委托监护协议"],
  ["dropout", "辍学"],
  ["injury_signs", "有伤害迹象"],
];
const ARRANGEMENTS: [string, string][] = [
  ["with_grandparents", "与祖父母生活"],
  ["with_parents", "与父母共同生活"],
  ["with_one_parent", "与父或母一方生活"],
  ["with_relatives", "与其他亲属生活"],
  ["with_entrusted_guardian", "与受委托监护人生活"],
  ["alone", "独居"],
  ["boarding_school", "寄宿学校"],
  ["other", "其他"],
];

const SIDE = "version visitedOn findings livingArrangement notes";
const VERSION_KEY = "shouhu.visit-version.";

function seen(personId: string): number {
  return Number(localStorage.getItem(VERSION_KEY + personId) ?? "0");
}

function remember(personId: string, version: number): void {
  localStorage.setItem(VERSION_KEY + personId, String(version));
}

registerSender("visit", async (entry) => {
  const r = await gql<{ recordVisit: { status: string; record: { version: number }; conflict: { id: number; mine: Side; theirs: Side } | null } }>(
    `mutation Visit($input: VisitInput!) { recordVisit(input: $input) {
      status record { version } conflict { id mine { ${SIDE} } theirs { ${SIDE} } } } }`,
    { input: entry.variables },
  );
  const err = topLevelError(r) ?? r.errors[0];
  if (err || !r.data) return { state: "failed", message: err ? errorText(err) : "No answer." };
  const out = r.data.recordVisit;
  const personId = entry.variables.personId as string;
  remember(personId, out.record.version);
  if (out.status === "CONFLICT" && out.conflict) {
    return {
      state: "conflict",
      message: "Someone changed this child's visit record meanwhile: choose which to keep.",
      conflict: out.conflict as unknown as Record<string, unknown>,
    };
  }
  return { state: "sent", message: `Visit ${out.status.toLowerCase()} (record version ${out.record.version}).` };
});

export const VISITS = {
  available: true,
  conflictView(entry: Entry): HTMLElement | null {
    const c = entry.conflict as { id: number; mine: Side; theirs: Side } | undefined;
    if (!c) return null;
    const side = (title: string, s: Side): HTMLElement =>
      h(
        "div",
        { class: "card" },
        h("strong", {}, title),
        h("div", {}, `${s.visitedOn ?? "—"} · ${s.livingArrangement ?? "—"}`),
        h("div", {}, s.findings.join(", ") || "no findings"),
        s.notes ? h("div", { class: "hint" }, s.notes) : null,
      );
    const choose = (choice: string) => async (): Promise<void> => {
      const r = await gql<{ resolveVisitConflict: { status: string; record: { version: number } } }>(
        `mutation Resolve($id: Int!, $choice: ConflictChoice!) { resolveVisitConflict(conflictId: $id, choice: $choice) { status record { version } } }`,
        { id: c.id, choice },
      );
      const err = topLevelError(r) ?? r.errors[0];
      if (err || !r.data) return update({ ...entry, message: err ? errorText(err) : "No answer." });
      remember(entry.variables.personId as string, r.data.resolveVisitConflict.record.version);
      await update({ ...entry, state: "sent", message: `Conflict resolved: ${choice.toLowerCase().replace("_", " ")}.` });
    };
    return h(
      "div",
      { class: "conflict", "data-conflict": c.id },
      side("Mine 本机", c.mine),
      side("Theirs 已有记录", c.theirs),
      h(
        "div",
        { class: "row" },
        h("button", { type: "button", class: "keep-mine", onclick: choose("KEEP_MINE") }, "Keep mine"),
        h("button", { type: "button", class: "keep-theirs", onclick: choose("KEEP_THEIRS") }, "Keep theirs"),
      ),
    );
  },
};

export function visitForm(list: Child[], status: HTMLElement): HTMLElement {
  const form = h(
    "form",
    { id: "visit-form", class: "card" },
    h("h2", {}, "Record a visit 走访"),
    h(
      "label",
      {},
      "Child 儿童",
      h("select", { name: "childId", id: "visit-child", required: true }, list.map((c) => h("option", { value: c.id }, `${c.name ?? "(name not permitted)"}${c.birthDate ? ` · ${c.birthDate.slice(0, 4)}` : ""}`))),
    ),
    h("label", {}, "Visited on 走访日期", h("input", { type: "date", name: "visitedOn", id: "visit-date", value: new Date().toISOString().slice(0, 10), required: true })),
    h("label", {}, "Lives 生活状况", h("select", { name: "arrangement", id: "visit-arrangement" }, ARRANGEMENTS.map(([v, l]) => h("option", { value: v }, l)))),
    h(
      "fieldset",
      { class: "filters", id: "visit-findings" },
      h("legend", {}, "Findings 发现"),
      FINDINGS.map(([v, l]) => h("label", {}, h("input", { type: "checkbox", name: "finding", value: v, "data-finding": v }), ` ${l}`)),
    ),
    h("label", {}, "Notes 备注", h("textarea", { name: "notes", id: "visit-notes", rows: 2, maxlength: 2000 })),
    h("button", { type: "submit", id: "visit-submit" }, "Save visit 保存"),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const personId = formValue(form, "childId");
    // The version this phone last saw: asked for when online, else the one remembered here.
    try {
      const r = await gql<{ childVisitRecord: { version: number } }>(
        "query V($id: ID!) { childVisitRecord(personId: $id) { version } }",
        { id: personId },
      );
      if (r.data) remember(personId, r.data.childVisitRecord.version);
    } catch (err) {
      if (!(err instanceof Offline)) throw err;
    }
    const findings = [...form.querySelectorAll<HTMLInputElement>("input[name=finding]:checked")].map((b) => b.value);
    const child = (form.querySelector("#visit-child") as HTMLSelectElement).selectedOptions[0]?.textContent ?? personId;
    const variables = {
      clientId: "",
      personId,
      visitedOn: formValue(form, "visitedOn"),
      findings,
      livingArrangement: formValue(form, "arrangement"),
      notes: formValue(form, "notes") || null,
      baseVersion: seen(personId),
    };
    const key = crypto.getRandomValues(new Uint32Array(4)).join("-");
    await enqueue("visit", `走访 · ${child} · ${variables.visitedOn}`, { ...variables, clientId: key }, key);
    form.reset();
    mount(status, notice(navigator.onLine ? "Visit sent to the outbox." : "Offline: visit kept on this phone.", "ok"));
  });
  return form;
}
