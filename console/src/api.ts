// The console is one more client of POST /graphql: the same token, purpose header and policy
// as any agency system. Field errors come back beside the data and are shown where they apply.

import { code, hasCode, lang, t } from "./i18n";
import type { MessageKey } from "./i18n";
import { type Answer, Offline, isChange, send } from "./request";
import { current, signOut } from "./session";

export interface GqlError {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: string; reason?: string; [key: string]: unknown };
}

export interface GqlResult<T> {
  data: T | null;
  errors: GqlError[];
}

// No answer (no connection, or none in time): request.ts, where every request is bounded.
export { Offline, TimedOut } from "./request";

export class SignedOut extends Error {
  constructor() {
    super(t("signedOutError"));
  }
}

/** Whether the server answered the last request: the phone page's banner follows this. */
let reachable = true;

export function serverReachable(): boolean {
  return reachable && navigator.onLine;
}

function setReachable(value: boolean): void {
  if (value === reachable) return;
  reachable = value;
  window.dispatchEvent(new CustomEvent("shouhu:connection"));
}

/**
 * One GraphQL request, answered within the configured seconds (`long`: whole-division work, which
 * takes minutes): Offline when there is no connection, TimedOut when no answer came in time.
 */
export async function gql<T>(query: string, variables: Record<string, unknown> = {}, options: { long?: boolean } = {}): Promise<GqlResult<T>> {
  const session = current();
  if (!session) throw new SignedOut();
  let answer: Answer<{ data?: T | null; errors?: GqlError[] }>;
  try {
    answer = await send(
      "/graphql",
      {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          Authorization: `Bearer ${session.token}`,
          "X-Purpose-Of-Use": session.purpose,
        },
        body: JSON.stringify({ query, variables }),
        credentials: "omit",
        cache: "no-store",
      },
      { change: isChange(query), long: options.long },
    );
  } catch (err) {
    if (err instanceof Offline) setReachable(false);
    throw err;
  }
  const { response, body } = answer;
  setReachable(true);
  if (response.status === 401) {
    signOut();
    throw new SignedOut();
  }
  if (!isResult(body)) throw new BadAnswer(response.status);
  return { data: body.data ?? null, errors: body.errors ?? [] };
}

/** A GraphQL result: an object with `data` or a list of `errors` (a refusal's `{"error": ...}` is none). */
function isResult(body: unknown): body is { data?: unknown; errors?: GqlError[] } {
  return typeof body === "object" && body !== null && ("data" in body || Array.isArray((body as { errors?: unknown }).errors));
}

/**
 * An answer that is no GraphQL result (a gateway's error page, a server's plain 500, a refusal
 * without a GraphQL body): said by its kind and what to do, in words. The HTTP status is kept on
 * the error (`status`) for whoever looks into it, never in the sentence the user reads.
 */
export class BadAnswer extends Error {
  constructor(readonly status: number) {
    super(t(answerWords(status)));
    this.name = "BadAnswer";
  }
}

/** What the user reads for an HTTP status (401 never comes here: it signs out). */
export function answerWords(status: number): MessageKey {
  if (status === 403) return "answerRefused";
  if (status === 404 || status === 405 || status === 410) return "answerNoService";
  if (status === 408 || status === 504) return "answerTooSlow";
  if (status === 413 || status === 414 || status === 431) return "answerTooLarge";
  if (status === 429) return "answerTooMany";
  if (status >= 400 && status < 500) return "answerNotUnderstood";
  if (status >= 500) return "answerUnavailable";
  return "answerUnreadable";
}

/** Errors that are not about one field: the whole operation failed. */
export function topLevelError(result: GqlResult<unknown>): GqlError | undefined {
  if (result.data === null) return result.errors[0] ?? { message: t("noData") };
  return undefined;
}

/**
 * An error in words, in the console's language: a refusal says which rule refused (policy reason
 * or workflow code, explained), never a raw code. The server's own message (in the server's
 * catalogue language, Chinese unless SHOUHU_LANGUAGE=en) is kept in the English mode only.
 */
export function errorText(err: GqlError): string {
  const c = err.extensions?.code;
  const reason = err.extensions?.reason;
  if (c === "FORBIDDEN" && reason && hasCode("reason", reason)) return `${t("notPermitted")}：${code("reason", reason)}`;
  if (reason && hasCode("reason", reason)) return code("reason", reason);
  if (c && hasCode("errorCode", c)) {
    const said = code("errorCode", c);
    return lang() === "en" && err.message ? `${said}: ${err.message}` : said;
  }
  // By code: the server's message is in the server's language (Chinese unless switched).
  if (/^(QUERY_TOO_|TOO_MANY_)/.test(String(c ?? "")) || /cost|depth|aliases/i.test(err.message)) {
    return t("queryTooLarge");
  }
  return lang() === "en" ? err.message : t("requestFailed");
}

/** Field errors by path, e.g. "person.parents.0.person.idNumber". */
export function errorsByPath(result: GqlResult<unknown>): Map<string, GqlError> {
  const map = new Map<string, GqlError>();
  for (const err of result.errors) if (err.path) map.set(err.path.join("."), err);
  return map;
}
