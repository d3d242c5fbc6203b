// The village supervisor's page (儿童督导员), made for a phone: record screening visits and file
// 强制报告 for the children of the village, with or without a connection. Entries go through the
// device's outbox (offline.ts): sent at once when the server answers, kept and sent later when it
// does not, and shown as a conflict to resolve when someone else changed the record meanwhile.

import { errorText, gql, Offline, topLevelError } from "../api";
import { formValue, h, mount, notice } from "../dom";
import { type Entry, all, enqueue, flush, onQueueChange, registerSender, remove, update } from "../offline";
import { current } from "../session";
import { SITUATIONS } from "./reports";
import { VISITS, visitForm } from "./visits";

interface Child {
  id: string;
  name: string | null;
  birthDate: string | null;
}

const CHILDREN_KEY = "shouhu.village.children";

registerSender("report", async (entry) => {
  const r = await gql<{ fileMandatoryReport: { id: string; status: string | null } }>(
    `mutation File($input: FileReportInput!) { fileMandatoryReport(input: $input) { id status } }`,
    { input: { ...entry.variables, clientRef: entry.key } },
  );
  const err = topLevelError(r) ?? r.errors.find((e) => !e.path || e.path.length <= 1);
  if (err) return { state: "failed", message: errorText(err) };
  return { state: "sent", message: `Report ${r.data?.fileMandatoryReport.id ?? ""} sent to the police.` };
});

/** The village's people, kept on the device so the forms work offline (names only as shown). */
async function children(): Promise<Child[]> {
  const session = current();
  if (!session) return [];
  try {
    const r = await gql<{ people: { edges: { node: Child }[] } }>(
      `query Village($d: String!) { people(division: $d, first: 100) { edges { node { id name birthDate } } } }`,
      { d: session.claims.jurisdiction },
    );
    const list = (r.data?.people.edges ?? []).map((e) => e.node);
    localStorage.setItem(CHILDREN_KEY, JSON.stringify(list));
    return list;
  } catch (err) {
    if (!(err instanceof Offline)) throw err;
    return JSON.parse(localStorage.getItem(CHILDREN_KEY) ?? "[]") as Child[];
  }
}

function age(birth: string | null): number | null {
  if (!birth || !/^\d{4}/.test(birth)) return null;
  return new Date().getFullYear() - Number(birth.slice(0, 4));
}

export function childSelect(list: Child[], id: string): HTMLSelectElement {
  const sorted = [...list].sort((a, b) => (age(a.birthDate) ?? 99) - (age(b.birthDate) ?? 99));
  return h(
    "select",
    { name: "childId", id, required: true },
    sorted.map((c) => h("option", { value: c.id }, `${c.name ?? "(name not permitted)"}${c.birthDate ? ` · ${c.birthDate.slice(0, 4)}` : ""}`)),
  );
}

export async function renderVillage(root: HTMLElement): Promise<void> {
  const banner = h("div", { id: "connection" });
  const showConnection = (): void =>
    mount(
      banner,
      navigator.onLine ? null : h("p", { class: "offline-banner", role: "status" }, "Offline 离线: entries are kept on this phone and sent when the connection returns."),
    );
  window.addEventListener("online", showConnection);
  window.addEventListener("offline", showConnection);
  showConnection();

  const list = await children();
  const outbox = h("ul", { id: "outbox", class: "queue" });
  const status = h("div", { id: "village-status" });

  const report = h(
    "form",
    { id: "report-form", class: "card" },
    h("h2", {}, "File a report 强制报告"),
    h("p", { class: "hint" }, "Goes to the police at once (第一时间). Call 110 in an emergency."),
    h("label", {}, "Child 儿童", childSelect(list, "report-child")),
    h("label", {}, "Situation 情形", h("select", { name: "situation", id: "report-situation" }, SITUATIONS.map(([v, l]) => h("option", { value: v }, l)))),
    h("label", {}, "What you found 情况说明", h("textarea", { name: "summary", id: "report-summary", rows: 3, required: true, maxlength: 2000 })),
    h("button", { type: "submit", id: "report-submit" }, "File report 提交报告"),
  );
  report.addEventListener("submit", async (e) => {
    e.preventDefault();
    const childId = formValue(report, "childId");
    const situation = formValue(report, "situation");
    await enqueue("report", `强制报告 · ${situation.toLowerCase()} · ${childId}`, {
      childId,
      situation,
      summary: formValue(report, "summary"),
      observedOn: new Date().toISOString().slice(0, 10),
    });
    report.reset();
    mount(status, notice(navigator.onLine ? "Report sent to the outbox." : "Offline: report kept on this phone.", "ok"));
  });

  mount(
    root,
    h("h1", {}, "Village 走访与报告"),
    banner,
    status,
    VISITS.available ? visitForm(list, status) : null,
    report,
    h("section", { class: "card" }, h("h2", {}, "Outbox 待发送"), h("button", { type: "button", id: "send-now", onclick: () => void flush() }, "Send now"), outbox),
  );
  const redraw = async (): Promise<void> => mount(outbox, (await all()).map((entry) => outboxItem(entry)));
  const stop = onQueueChange(() => void redraw());
  // Stop listening once this page is replaced.
  const observer = new MutationObserver(() => {
    if (!document.body.contains(outbox)) {
      stop();
      observer.disconnect();
    }
  });
  observer.observe(root, { childList: true });
  await redraw();
}

function outboxItem(entry: Entry): HTMLElement {
  return h(
    "li",
    { "data-entry": entry.key, "data-state": entry.state, "data-kind": entry.kind },
    h("span", { class: `badge ${entry.state}` }, entry.state),
    " ",
    entry.title,
    entry.message ? h("div", { class: "hint" }, entry.message) : null,
    entry.state === "conflict" && VISITS.available ? VISITS.conflictView(entry) : null,
    entry.state === "failed"
      ? h(
          "div",
          { class: "row" },
          h("button", { type: "button", class: "retry", onclick: () => void update({ ...entry, state: "queued", message: undefined }).then(flush) }, "Retry"),
          h("button", { type: "button", class: "discard", onclick: () => void remove(entry.key) }, "Discard"),
        )
      : null,
    entry.state === "sent" ? h("button", { type: "button", class: "link clear", onclick: () => void remove(entry.key) }, "clear") : null,
  );
}
