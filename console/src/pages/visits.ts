// Screening visits (定期走访) from the village page. Each entry carries the device's id (resending
// is safe) and the version of the child's visit record this phone last saw: when the record has
// moved on meanwhile the server answers CONFLICT and the entry waits here for the supervisor.

import { errorText, gql, Offline, serverReachable, SignedOut, topLevelError } from "../api";
import { formValue, h, submitting } from "../dom";
import { code, codeOptions, t, todayBeijing } from "../i18n";
import { type Entry, enqueue, registerSender, update } from "../offline";
import { current } from "../session";
import { type Child, childPicker, note } from "./village";
import { RESOLVE, VISIT, VISIT_VERSION } from "../documents";


interface Side {
  version: number;
  visitedOn: string | null;
  findings: string[];
  livingArrangement: string | null;
  notes: string | null;
}

// The codes the server's screening configuration accepts (it validates every one), in words.
const FINDINGS = (): [string, string][] => codeOptions("finding");
const ARRANGEMENTS = (): [string, string][] => codeOptions("arrangement");

const VERSION_KEY = "shouhu.visit-version.";
const DRAFT = "shouhu.visit-draft.";

function seen(personId: string): number {
  return Number(localStorage.getItem(VERSION_KEY + personId) ?? "0");
}

function remember(personId: string, version: number): void {
  localStorage.setItem(VERSION_KEY + personId, String(version));
}

registerSender("visit", async (entry) => {
  const r = await gql<{ recordVisit: { status: string; record: { version: number }; conflict: { id: number; mine: Side; theirs: Side } | null } }>(
    VISIT,
    { input: entry.variables },
  );
  const err = topLevelError(r) ?? r.errors[0];
  if (err || !r.data) return { state: "failed", message: err ? errorText(err) : t("noAnswer") };
  const out = r.data.recordVisit;
  const personId = entry.variables.personId as string;
  remember(personId, out.record.version);
  if (out.status === "CONFLICT" && out.conflict) {
    return {
      state: "conflict",
      message: t("visitConflict"),
      conflict: out.conflict as unknown as Record<string, unknown>,
    };
  }
  return { state: "sent", message: t("visitOutcome", { status: code("visitStatus", out.status), version: out.record.version }) };
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
        h("div", {}, `${s.visitedOn ?? "—"} · ${code("arrangement", s.livingArrangement)}`),
        h("div", { class: "findings" }, s.findings.map((f) => code("finding", f)).join("、") || t("noFindings")),
        s.notes ? h("div", { class: "hint" }, s.notes) : null,
      );
    const choose = (choice: string) => async (): Promise<void> => {
      const r = await gql<{ resolveVisitConflict: { status: string; record: { version: number } } }>(
        RESOLVE,
        { id: c.id, choice },
      );
      const err = topLevelError(r) ?? r.errors[0];
      if (err || !r.data) return update({ ...entry, message: err ? errorText(err) : t("noAnswer") });
      remember(entry.variables.personId as string, r.data.resolveVisitConflict.record.version);
      await update({ ...entry, state: "sent", message: choice === "KEEP_MINE" ? t("keptMine") : t("keptTheirs") });
    };
    return h(
      "div",
      { class: "conflict", "data-conflict": c.id },
      side(t("mine"), c.mine),
      side(t("theirs"), c.theirs),
      h(
        "div",
        { class: "row", "data-action-group": true },
        h("button", { type: "button", class: "keep-mine", onclick: submitting(choose("KEEP_MINE")) }, t("keepMine")),
        h("button", { type: "button", class: "keep-theirs", onclick: submitting(choose("KEEP_THEIRS")) }, t("keepTheirs")),
      ),
    );
  },
};

export function visitForm(list: Child[], status: HTMLElement): HTMLElement {
  // Whose form this is: a visit saved after the token ran out (a phone that slept) is still theirs,
  // kept in the outbox and sent once they sign in again.
  const owner = current()?.claims.client_id;
  const draftKey = DRAFT + (owner ?? "");
  const form = h(
    "form",
    { id: "visit-form", class: "card" },
    h("h2", {}, t("recordVisit")),
    h("label", { for: "visit-child" }, t("child")),
    childPicker(list, "visit-child"),
    h("label", {}, t("visitedOn"), h("input", { type: "date", name: "visitedOn", id: "visit-date", value: todayBeijing(), required: true })),
    h("label", {}, t("livingArrangement"), h("select", { name: "arrangement", id: "visit-arrangement" }, ARRANGEMENTS().map(([v, l]) => h("option", { value: v }, l)))),
    h(
      "fieldset",
      { class: "filters", id: "visit-findings" },
      h("legend", {}, t("findings")),
      FINDINGS().map(([v, l]) => h("label", {}, h("input", { type: "checkbox", name: "finding", value: v, "data-finding": v }), ` ${l}`)),
    ),
    h("label", {}, t("notes"), h("textarea", { name: "notes", id: "visit-notes", rows: 2, maxlength: 2000 })),
    h("button", { type: "submit", id: "visit-submit" }, t("saveVisit")),
  );
  // What is typed is kept in the tab as it is typed: when the session runs out mid-visit the
  // sign-in page replaces the form, and after signing in again the form comes back as it was.
  // Only its owner gets it back; signing out on purpose forgets it (session.ts).
  const field = (name: string): HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement | null =>
    form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement | null;
  const keepDraft = (): void => {
    if (!owner) return;
    const findings = [...form.querySelectorAll<HTMLInputElement>("input[name=finding]:checked")].map((b) => b.value);
    const draft = { childId: formValue(form, "childId"), visitedOn: formValue(form, "visitedOn"), arrangement: formValue(form, "arrangement"), findings, notes: formValue(form, "notes") };
    sessionStorage.setItem(draftKey, JSON.stringify(draft));
  };
  form.addEventListener("input", keepDraft);
  form.addEventListener("change", keepDraft);
  try {
    const draft = JSON.parse(sessionStorage.getItem(draftKey) ?? "null") as { childId: string; visitedOn: string; arrangement: string; findings: string[]; notes: string } | null;
    if (draft && owner) {
      for (const name of ["childId", "visitedOn", "arrangement", "notes"] as const) {
        const el = field(name);
        if (el && draft[name]) el.value = draft[name];
      }
      for (const box of form.querySelectorAll<HTMLInputElement>("input[name=finding]")) box.checked = draft.findings.includes(box.value);
    }
  } catch {
    sessionStorage.removeItem(draftKey);
  }
  form.addEventListener(
    "submit",
    submitting(async () => {
      // The visit as it was when saved, read before anything is awaited, and the form cleared at
      // once: on a slow connection the supervisor starts the next visit while the version is asked
      // for, and those choices are the next visit's, not this one's.
      const personId = formValue(form, "childId");
      const findings = [...form.querySelectorAll<HTMLInputElement>("input[name=finding]:checked")].map((b) => b.value);
      const child = list.find((c) => c.id === personId)?.name ?? "";
      const visit = {
        personId,
        visitedOn: formValue(form, "visitedOn"),
        findings,
        livingArrangement: formValue(form, "arrangement"),
        notes: formValue(form, "notes") || null,
      };
      form.reset();
      sessionStorage.removeItem(draftKey);
      // The version this phone last saw: asked for when online, else the one remembered here.
      try {
        const r = await gql<{ childVisitRecord: { version: number } }>(
          VISIT_VERSION,
          { id: personId },
        );
        if (r.data) remember(personId, r.data.childVisitRecord.version);
      } catch (err) {
        if (!(err instanceof Offline || err instanceof SignedOut)) throw err;
      }
      const key = crypto.getRandomValues(new Uint32Array(4)).join("-");
      await enqueue("visit", `${t("visitWord")} · ${child} · ${visit.visitedOn}`, { ...visit, clientId: key, baseVersion: seen(personId) }, key, owner);
      note(status, serverReachable() ? t("visitQueued") : t("visitKeptOffline"), !serverReachable());
    }),
  );
  return form;
}
