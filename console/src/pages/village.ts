// The village supervisor's page (儿童主任), made for a phone: record screening visits and file
// 强制报告 for the children of the village, with or without a connection. Entries go through the
// device's outbox (offline.ts): sent at once when the server answers, kept and sent later when it
// does not, and shown as a conflict to resolve when someone else changed the record meanwhile.
// Only children are offered, every one of them: the server's villageChildren (under 18 on today's
// Beijing date, decided on the full birth date the server holds) is read 500 a request, kept on the
// device, and searched and paged here. The page does not recompute ages: a supervisor who sees ID
// numbers masked sees birth dates as years only (the policy's reconstruction rule), which cannot
// tell a 17-year-old from an 18-year-old.

import { errorText, gql, Offline, serverReachable, topLevelError } from "../api";
import { formValue, h, mount, notice, submitting } from "../dom";
import { code, fmtDateTime, t, todayBeijing } from "../i18n";
import { type Entry, all, enqueue, flush, onQueueChange, registerSender, remove, update } from "../offline";
import { CHILDREN_KEY, current } from "../session";
import { situations } from "./reports";
import { VISITS, visitForm } from "./visits";
import { FILE_REPORT, VILLAGE } from "../documents";

export interface Child {
  id: string;
  name: string | null;
  birthDate: string | null;
}

const PAGE = 50;

registerSender("report", async (entry) => {
  const r = await gql<{ fileMandatoryReport: { id: string; status: string | null } }>(
    FILE_REPORT,
    { input: { ...entry.variables, clientRef: entry.key } },
  );
  const err = topLevelError(r) ?? r.errors.find((e) => !e.path || e.path.length <= 1);
  if (err) return { state: "failed", message: errorText(err) };
  return { state: "sent", message: t("reportSent") };
});

/** Every child of the village, kept on the device so the forms work offline (names only). */
async function children(): Promise<Child[]> {
  const session = current();
  if (!session) return [];
  try {
    const list: Child[] = [];
    let after: string | null = null;
    for (let page = 0; page < 200; page++) {
      const r: { data: { villageChildren: { edges: { node: Child }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } } | null } =
        await gql(
          VILLAGE,
          { d: session.claims.jurisdiction, after },
        );
      const people = r.data?.villageChildren;
      if (!people) break;
      for (const e of people.edges) list.push(e.node);
      if (!people.pageInfo.hasNextPage || !people.pageInfo.endCursor) break;
      after = people.pageInfo.endCursor;
    }
    list.sort((a, b) => (a.name ?? "").localeCompare(b.name ?? "", "zh-CN"));
    sessionStorage.setItem(CHILDREN_KEY, JSON.stringify(list));
    return list;
  } catch (err) {
    if (!(err instanceof Offline)) throw err;
    return JSON.parse(sessionStorage.getItem(CHILDREN_KEY) ?? "[]") as Child[];
  }
}

function childLabel(c: Child): string {
  return `${c.name ?? t("nameNotPermitted")}${c.birthDate ? ` · ${c.birthDate.slice(0, 4)}${t("bornSuffix")}` : ""}`;
}

/**
 * A child picker for a phone: a search box (name or birth year), the matching children a page at
 * a time in a select that starts on "no one chosen", and previous/next buttons.
 */
export function childPicker(list: Child[], id: string): HTMLElement {
  let page = 0;
  let matches = list;
  const select = h("select", { name: "childId", id, required: true, "aria-describedby": `${id}-count` });
  const count = h("span", { class: "hint", id: `${id}-count`, role: "status" });
  const prev = h("button", { type: "button", class: "small", id: `${id}-prev`, onclick: () => show(page - 1) }, t("prevPage"));
  const next = h("button", { type: "button", class: "small", id: `${id}-next`, onclick: () => show(page + 1) }, t("nextPage"));
  const search = h("input", {
    type: "search",
    id: `${id}-search`,
    class: "child-search",
    placeholder: t("searchChild"),
    "aria-label": t("searchChild"),
    oninput: (e: Event) => {
      const q = (e.target as HTMLInputElement).value.trim();
      matches = q ? list.filter((c) => (c.name ?? "").includes(q) || (c.birthDate ?? "").startsWith(q)) : list;
      show(0);
    },
  });
  function show(n: number): void {
    const pages = Math.max(1, Math.ceil(matches.length / PAGE));
    page = Math.min(Math.max(0, n), pages - 1);
    const chosen = select.value;
    mount(
      select,
      h("option", { value: "" }, t("chooseChild")),
      matches.slice(page * PAGE, (page + 1) * PAGE).map((c) => h("option", { value: c.id, selected: c.id === chosen }, childLabel(c))),
    );
    count.textContent = t("childrenCount", { n: matches.length, page: page + 1, pages });
    prev.toggleAttribute("disabled", page === 0);
    next.toggleAttribute("disabled", page >= pages - 1);
  }
  show(0);
  return h("div", { class: "child-picker" }, search, select, h("div", { class: "pager" }, prev, count, next));
}

export async function renderVillage(root: HTMLElement): Promise<void> {
  // Whose page this is: a report filed after the token ran out is still theirs (offline.ts).
  const owner = current()?.claims.client_id;
  const banner = h("div", { id: "connection" });
  const status = h("div", { id: "village-status" });
  const showConnection = (): void => {
    const online = serverReachable();
    mount(banner, online ? null : h("p", { class: "offline-banner", role: "status" }, t("offlineBanner")));
    // A "kept on this phone" note is only true while offline.
    if (online) status.querySelector("[data-offline-note]")?.remove();
  };
  window.addEventListener("online", showConnection);
  window.addEventListener("offline", showConnection);
  window.addEventListener("shouhu:connection", showConnection);
  showConnection();

  const list = await children();
  const outbox = h("ul", { id: "outbox", class: "queue" });

  const report = h(
    "form",
    { id: "report-form", class: "card" },
    h("h2", {}, t("fileReport")),
    h("p", { class: "hint" }, t("fileReportHint")),
    h("label", { for: "report-child" }, t("child")),
    childPicker(list, "report-child"),
    h("label", {}, t("situation"), h("select", { name: "situation", id: "report-situation" }, situations().map(([v, l]) => h("option", { value: v }, l)))),
    h("label", {}, t("whatYouFound"), h("textarea", { name: "summary", id: "report-summary", rows: 3, required: true, maxlength: 2000 })),
    h("button", { type: "submit", id: "report-submit" }, t("submitReport")),
  );
  report.addEventListener(
    "submit",
    submitting(async () => {
      const childId = formValue(report, "childId");
      const situation = formValue(report, "situation");
      const child = list.find((c) => c.id === childId);
      await enqueue("report", `${t("reportWord")} · ${code("situation", situation)} · ${child?.name ?? ""}`, {
        childId,
        situation,
        summary: formValue(report, "summary"),
        observedOn: todayBeijing(),
      }, undefined, owner);
      report.reset();
      note(status, serverReachable() ? t("reportQueued") : t("reportKeptOffline"), !serverReachable());
    }),
  );

  mount(
    root,
    h("h1", {}, t("villageTitle")),
    banner,
    status,
    list.length === 0 ? notice(t("noChildrenInVillage")) : null,
    VISITS.available ? visitForm(list, status) : null,
    report,
    h(
      "section",
      { class: "card" },
      h("h2", {}, t("outbox")),
      h("button", { type: "button", id: "send-now", onclick: submitting(flush) }, t("sendNow")),
      outbox,
    ),
  );
  const redraw = async (): Promise<void> => mount(outbox, (await all()).map((entry) => outboxItem(entry)));
  const stop = onQueueChange(() => void redraw());
  // Stop listening once this page is replaced.
  const observer = new MutationObserver(() => {
    if (!document.body.contains(outbox)) {
      stop();
      window.removeEventListener("shouhu:connection", showConnection);
      window.removeEventListener("online", showConnection);
      window.removeEventListener("offline", showConnection);
      observer.disconnect();
    }
  });
  observer.observe(root, { childList: true });
  await redraw();
  void flush(); // what waited for this user's sign-in goes now, not at the next retry
}

/** A status note; one about keeping work offline is marked so reconnecting clears it. */
export function note(status: HTMLElement, message: string, offline: boolean): void {
  const el = notice(message, "ok");
  if (offline) el.dataset.offlineNote = "1";
  mount(status, el);
}

function outboxItem(entry: Entry): HTMLElement {
  return h(
    "li",
    { "data-entry": entry.key, "data-state": entry.state, "data-kind": entry.kind },
    h("span", { class: `badge ${entry.state}` }, code("outbox", entry.state)),
    " ",
    entry.title,
    h("small", { class: "hint" }, ` ${fmtDateTime(entry.createdAt)}`),
    entry.message ? h("div", { class: "hint" }, entry.message) : null,
    entry.state === "conflict" && VISITS.available ? VISITS.conflictView(entry) : null,
    entry.state === "failed"
      ? h(
          "div",
          { class: "row", "data-action-group": true },
          h("button", { type: "button", class: "retry", onclick: submitting(() => update({ ...entry, state: "queued", message: undefined }).then(flush)) }, t("retry")),
          h("button", { type: "button", class: "discard", onclick: () => void remove(entry.key) }, t("discard")),
        )
      : null,
    entry.state === "sent" ? h("button", { type: "button", class: "link clear", onclick: () => void remove(entry.key) }, t("clearEntry")) : null,
  );
}
