// What the workflow pages share: running a change and saying its outcome in words, a refusal
// explained (INVALID_TRANSITION, MISSING_FACTS with what is missing, MISSING_GROUNDS with what the
// record lacks for each ground), and small form pieces. The server decides; the page only asks.

import { errorText, type GqlError, type GqlResult, Offline, SignedOut, TimedOut, gql, topLevelError } from "../api";
import { h, mount, notice } from "../dom";
import { code, hasCode, t } from "../i18n";

/** A refusal in Chinese, with the missing facts or unsupported grounds named when the server lists them. */
export function explain(err: GqlError): string {
  const base = errorText(err);
  const ext = err.extensions ?? {};
  const missing = Array.isArray(ext.missing) ? (ext.missing as string[]) : [];
  const grounds = ext.grounds && typeof ext.grounds === "object" ? (ext.grounds as Record<string, string[]>) : null;
  const parts: string[] = [];
  if (grounds) {
    for (const [ground, facts] of Object.entries(grounds)) {
      parts.push(
        t("groundUnsupported", {
          ground: code("ground", ground),
          facts: facts.map((f) => (hasCode("groundFact", f) ? code("groundFact", f) : code("missingFact", f))).join("；"),
        }),
      );
    }
  } else if (missing.length) {
    const words = missing.map((m) =>
      hasCode("missingFact", m) ? code("missingFact", m) : hasCode("ground", m) ? code("ground", m) : hasCode("emergencyAction", m) ? code("emergencyAction", m) : code("missingFact", m),
    );
    parts.push(t("stillMissing", { list: words.join("、") }));
  }
  return parts.length ? `${base}。${parts.join("；")}` : base;
}

/**
 * Run a mutation; say the outcome in `out` (role=status / alert) and, when it went through, call
 * `then`. Returns the data, or null when refused or unanswered.
 */
export async function act<T>(
  out: HTMLElement,
  what: string,
  query: string,
  variables: Record<string, unknown>,
  done: (data: T) => string,
  then?: () => Promise<void> | void,
): Promise<T | null> {
  let r: GqlResult<T>;
  try {
    r = await gql<T>(query, variables);
  } catch (failed) {
    // No answer (no connection, or none in time), or the session ended: said where the outcome is,
    // with what to do (a change without an answer may have been made: check before trying again).
    if (!(failed instanceof Offline || failed instanceof SignedOut)) throw failed;
    mount(out, notice(t("unansweredBecause", { what, why: failed.message }), "error"));
    out.dataset.state = failed instanceof TimedOut ? "timed-out" : "unanswered";
    return null;
  }
  const err = topLevelError(r) ?? r.errors[0];
  if (err || !r.data) {
    mount(out, notice(t("refusedBecause", { what, why: err ? explain(err) : t("noData") }), "error"));
    out.dataset.state = "refused";
    return null;
  }
  const said = done(r.data);
  if (then) await then();
  // The page may have been drawn again: say it where the same status line now is.
  const target = (out.id && document.getElementById(out.id)) || out;
  mount(target, notice(said, "ok"));
  target.dataset.state = "done";
  return r.data;
}

/** A labelled form control. */
export function field(label: string, control: HTMLElement): HTMLElement {
  return h("label", { class: "field" }, label, control);
}

/** A select of code values in words. */
export function codeSelect(id: string, group: string, values: string[], blank = false): HTMLSelectElement {
  return h(
    "select",
    { id, name: id },
    blank ? h("option", { value: "" }, t("choose")) : null,
    values.map((v) => h("option", { value: v }, code(group, v))),
  );
}

/** A person select (people by name; a name the policy withholds is said so, never an id). */
export function personSelect(id: string, people: { id: string; name: string | null; role?: string }[], blank = true): HTMLSelectElement {
  return h(
    "select",
    { id, name: id },
    blank ? h("option", { value: "" }, t("choose")) : null,
    people.map((p) => h("option", { value: p.id }, `${p.name ?? t("nameNotPermitted")}${p.role ? `（${p.role}）` : ""}`)),
  );
}

/** A status line for a form's outcome. */
export function statusLine(id: string): HTMLElement {
  return h("div", { id, class: "form-status", "aria-live": "polite" });
}

/** The current quarter, as the server names periods (2026-Q4), in Beijing. */
export function currentQuarter(): string {
  const now = new Date(Date.now() + 8 * 3600_000);
  return `${now.getUTCFullYear()}-Q${Math.floor(now.getUTCMonth() / 3) + 1}`;
}
