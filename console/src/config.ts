// What the server tells the console about itself: the policy's purposes of use, and how long the
// console waits for an answer to a request (kernel/settings.py, console_*_timeout_seconds).

export interface Purpose {
  code: string;
  zh: string;
}

export interface ConsoleConfig {
  policy_version: string;
  purposes: Purpose[];
  /** Seconds to wait for the answer to a request (a read or a change). */
  request_timeout_seconds?: number;
  /** Seconds to wait for whole-division work (重新排查 of a county takes minutes). */
  long_request_timeout_seconds?: number;
}

/** The server's defaults, used until (or if never) the configuration comes. */
export const REQUEST_TIMEOUT_SECONDS = 30;
export const LONG_REQUEST_TIMEOUT_SECONDS = 1200;

import { t } from "./i18n";

let cached: Promise<ConsoleConfig> | null = null;

export function config(): Promise<ConsoleConfig> {
  cached ??= (async () => {
    try {
      const r = await fetch("/console/config.json", { credentials: "omit", signal: AbortSignal.timeout(REQUEST_TIMEOUT_SECONDS * 1000) });
      if (r.ok) return (await r.json()) as ConsoleConfig;
    } catch {
      // No connection, no answer in time, or not JSON: said below.
    }
    throw new Error(t("configFailed"));
  })();
  // Not kept when it failed (no connection at that moment): asked again next time.
  cached.catch(() => {
    cached = null;
  });
  return cached;
}

/** Seconds to wait for a request: the server's setting, its default when the configuration is not to be had. */
export async function requestTimeoutSeconds(long = false): Promise<number> {
  try {
    const cfg = await config();
    const seconds = long ? cfg.long_request_timeout_seconds : cfg.request_timeout_seconds;
    if (typeof seconds === "number" && seconds > 0) return seconds;
  } catch {
    // The defaults below.
  }
  return long ? LONG_REQUEST_TIMEOUT_SECONDS : REQUEST_TIMEOUT_SECONDS;
}
