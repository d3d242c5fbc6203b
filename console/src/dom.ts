// A tiny element builder: text always goes in as text nodes, never as HTML, so no value from
// the API can inject markup (and the Content-Security-Policy forbids inline script anyway).

import { SignedOut } from "./api";
import { t } from "./i18n";
import { Offline } from "./request";

export type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === "class") {
      el.className = String(value);
    } else if (value === true) {
      el.setAttribute(key, "");
    } else {
      el.setAttribute(key, String(value));
    }
  }
  // A list table scrolls sideways on a phone (style.css): keyboard users must be able to reach it
  // to scroll it (axe-core's scrollable-region-focusable).
  if (tag === "table" && el.classList.contains("list") && !el.hasAttribute("tabindex")) el.setAttribute("tabindex", "0");
  append(el, children);
  return el;
}

export function append(el: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.appendChild(typeof child === "string" || typeof child === "number" ? text(child) : child);
  }
}

function text(value: string | number): Text {
  return document.createTextNode(String(value));
}

export function clear(el: Element): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

export function mount(el: Element, ...children: Child[]): void {
  clear(el);
  append(el, children);
}

/** A status line: role=status so screen readers announce it. */
export function notice(message: string, kind: "info" | "error" | "ok" = "info"): HTMLElement {
  return h("p", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, message);
}

export function formValue(form: HTMLFormElement, name: string): string {
  const el = form.elements.namedItem(name);
  if (el instanceof HTMLInputElement || el instanceof HTMLSelectElement || el instanceof HTMLTextAreaElement) {
    return el.value.trim();
  }
  return "";
}

/**
 * The loads drawn into an element, numbered: on a slow connection a user asks again (another
 * division, another period) before the first answer comes, and the answers may come in any order.
 * `startLoad(el)` begins a load into `el` and returns a check to make after each await: false once
 * a newer load into `el` began, so an older answer is never drawn over a newer one.
 */
const loads = new WeakMap<Element, number>();

export function startLoad(el: Element): () => boolean {
  const mine = (loads.get(el) ?? 0) + 1;
  loads.set(el, mine);
  return () => loads.get(el) === mine;
}

/** The check of the load into `el` under way (a next page of the same list continues it). */
export function sameLoad(el: Element): () => boolean {
  const mine = loads.get(el) ?? 0;
  return () => loads.get(el) === mine;
}

/** The class of the line saying an action failed without its page saying so (submitting). */
const UNANSWERED = "action-unanswered";

/** The forms, buttons and action groups whose action is under way. */
const inFlight = new WeakSet<EventTarget>();

/**
 * The attribute that makes an element an action group: buttons that act on the same thing (保留我的
 * and 保留对方的 on one conflict, 通过 and 退回 on one report, 合并 and 不是同一人 on one pair), of
 * which one action at a time may be under way.
 */
const ACTION_GROUP = "data-action-group";

/**
 * The handler of an action that sends a change (a form's submit, a button's click), so that it is
 * sent once: while the promise the handler returns is pending, the button (the clicked one, or
 * the one that submitted the form) is disabled, marked aria-busy and says 提交中…, and another
 * submit of the form or click of the button does nothing. A button inside an action group
 * (ACTION_GROUP) holds the whole group: every other button of the group is disabled too, so that
 * its other choice cannot be sent while the first is on its way (both went out, and the second
 * answer undid or contradicted the first). All are restored when the promise settles, refused or
 * failed too, so the user can try again (after a success the page has usually been drawn again by
 * then); a failure the handler did not say itself (no answer: request.ts bounds every request) is
 * said beside the action. A handler that returns no promise (a check that failed before anything was sent) leaves
 * the buttons as they were. A form's default submission is always prevented.
 */
export function submitting(handler: (e: Event) => unknown): EventListener {
  return (e: Event): void => {
    const owner = e.currentTarget;
    if (owner instanceof HTMLFormElement) e.preventDefault();
    if (!owner || inFlight.has(owner)) return;
    const group = owner instanceof Element ? owner.closest(`[${ACTION_GROUP}]`) : null;
    if (group && inFlight.has(group)) return;
    // Where an action that got no answer is said when its page does not say it (see below).
    const place = group ?? (owner instanceof HTMLFormElement ? owner : owner instanceof Element ? owner.parentElement : null);
    const result = handler(e);
    if (!(result instanceof Promise)) return;
    place?.querySelector(`:scope > .${UNANSWERED}`)?.remove();
    const button =
      owner instanceof HTMLButtonElement
        ? owner
        : owner instanceof HTMLFormElement
          ? ((e as SubmitEvent).submitter as HTMLButtonElement | null) ?? owner.querySelector<HTMLButtonElement>("button[type=submit], button:not([type])")
          : null;
    const held = [owner, ...(group ? [group] : [])];
    for (const el of held) inFlight.add(el);
    const label = button?.textContent ?? "";
    // The group's other buttons, each with whether it was disabled before (which it stays after).
    const others = group ? [...group.querySelectorAll<HTMLButtonElement>("button")].filter((b) => b !== button).map((b) => [b, b.disabled] as const) : [];
    const wasDisabled = button?.disabled ?? false;
    if (button) {
      button.disabled = true;
      button.setAttribute("aria-busy", "true");
      button.textContent = t("submitting");
    }
    for (const [b] of others) b.disabled = true;
    const restore = (): void => {
      for (const el of held) inFlight.delete(el);
      for (const [b, was] of others) b.disabled = was;
      if (!button) return;
      button.disabled = wasDisabled;
      button.removeAttribute("aria-busy");
      button.textContent = label;
    };
    result.then(restore, (err: unknown) => {
      restore();
      // A failure the page's handler did not say (no connection, no answer in time, signed out, a
      // fault) is said beside the action, never left silent: the user must know to check.
      if (place) {
        const unanswered = err instanceof Offline || err instanceof SignedOut;
        const said = notice(unanswered ? err.message : t("somethingWrong"), "error");
        said.classList.add(UNANSWERED);
        place.append(said);
        if (unanswered) return;
      }
      throw err;
    });
  };
}
