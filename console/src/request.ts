// Every request of the console is bounded in time: a hung connection (the server stalled, a village
// office's network dropped) otherwise kept the page waiting, and an action's buttons disabled,
// until the browser gave up minutes later, and the user could not tell whether a change was made.
// After the configured seconds (config.json, from kernel/settings.py) the request is aborted and
// the caller gets TimedOut, whose words say so, for a change that it may or may not have been made.

import { requestTimeoutSeconds } from "./config";
import { t } from "./i18n";

/** What a request is: a change (its outcome is unknown when no answer came) or a read; whole-division work waits longer. */
export interface RequestKind {
  change: boolean;
  long?: boolean;
}

/**
 * No answer from the server: no connection (fetch failed). The caller may queue the work for later.
 * For a change the connection may have dropped after the server got it: the words say to check.
 */
export class Offline extends Error {
  constructor(message: string = t("offlineError")) {
    super(message);
    this.name = "Offline";
  }
}

/** No answer from the server within the bound (a kind of Offline: queued work stays queued). */
export class TimedOut extends Offline {
  constructor(
    readonly seconds: number,
    change: boolean,
  ) {
    super(t(change ? "timedOutChange" : "timedOutRead", { s: seconds }));
    this.name = "TimedOut";
  }
}

export interface Answer<T> {
  response: Response;
  /** The body as JSON; undefined when it is not JSON. */
  body: T | undefined;
}

/**
 * `fetch(url, init)` and its JSON body, within the configured seconds for `kind`: Offline when the
 * request fails, TimedOut when no whole answer came in time (the request is then aborted).
 */
export async function send<T>(url: string, init: RequestInit, kind: RequestKind): Promise<Answer<T>> {
  const started = performance.now();
  const seconds = await requestTimeoutSeconds(kind.long);
  const controller = new AbortController();
  const timer = window.setTimeout(() => controller.abort(), Math.max(0, seconds * 1000 - (performance.now() - started)));
  const unanswered = (): Offline => (controller.signal.aborted ? new TimedOut(seconds, kind.change) : new Offline(t(kind.change ? "offlineChange" : "offlineError")));
  try {
    let response: Response;
    try {
      response = await fetch(url, { ...init, signal: controller.signal });
    } catch {
      throw unanswered();
    }
    let body: T | undefined;
    try {
      body = (await response.json()) as T;
    } catch (err) {
      // A body cut off by the bound, or by the connection, is no answer; one that is not JSON is.
      if (controller.signal.aborted || !(err instanceof SyntaxError)) throw unanswered();
      body = undefined;
    }
    return { response, body };
  } finally {
    window.clearTimeout(timer);
  }
}

/** A GraphQL document that changes something (its first operation is a mutation). */
export function isChange(query: string): boolean {
  return /^\s*(#[^\n]*\n\s*)*mutation\b/.test(query);
}
