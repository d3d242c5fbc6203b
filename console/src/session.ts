import { t } from "./i18n";
import { send } from "./request";

// The signed-in identity: an OAuth2 access token from POST /oauth/token, kept in sessionStorage
// (gone when the tab closes), plus the purpose of use declared with every request.

export interface Claims {
  client_id: string;
  agency: string;
  agency_type: string;
  role: string;
  jurisdiction: string;
  institutions?: string[];
  exp: number;
}

export interface Session {
  token: string;
  claims: Claims;
  purpose: string;
}

const KEY = "shouhu.session";
const EXPIRED = "shouhu.session-expired";
// The village's children (names), kept for the tab's offline forms and forgotten at sign-out.
export const CHILDREN_KEY = "shouhu.village.children";

/** Whether the last session ended by expiry (asked once: the flag is cleared). */
export function takeExpired(): boolean {
  const was = sessionStorage.getItem(EXPIRED) === "1";
  sessionStorage.removeItem(EXPIRED);
  return was;
}

export function current(): Session | null {
  const raw = sessionStorage.getItem(KEY);
  if (!raw) return null;
  try {
    const session = JSON.parse(raw) as Session;
    if (session.claims.exp * 1000 <= Date.now()) {
      sessionStorage.removeItem(KEY);
      sessionStorage.setItem(EXPIRED, "1"); // the sign-in page says why
      return null;
    }
    return session;
  } catch {
    sessionStorage.removeItem(KEY);
    return null;
  }
}

export function save(session: Session): void {
  sessionStorage.removeItem(EXPIRED);
  sessionStorage.setItem(KEY, JSON.stringify(session));
}

export function setPurpose(purpose: string): void {
  const session = current();
  if (session) save({ ...session, purpose });
}

/** Ends the session; `forget` (signing out on purpose, not expiry) also drops a visit being typed. */
export function signOut(forget = false): void {
  sessionStorage.removeItem(KEY);
  if (forget) for (const k of Object.keys(sessionStorage)) if (k.startsWith("shouhu.visit-draft.")) sessionStorage.removeItem(k);
  sessionStorage.removeItem(CHILDREN_KEY);
  localStorage.removeItem(CHILDREN_KEY); // where earlier versions kept it, for anyone to read
}

/** The token's claims, for choosing pages only: the server re-checks every request. */
export function decodeClaims(token: string): Claims {
  const part = token.split(".")[1] ?? "";
  const b64 = part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "=");
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes)) as Claims;
}

export interface TokenError {
  error: string;
}

export async function signIn(clientId: string, secret: string, purpose: string): Promise<Session> {
  const body = new URLSearchParams({
    grant_type: "client_credentials",
    client_id: clientId,
    client_secret: secret,
  });
  // Bounded like every request (request.ts): no connection or no answer in time is said in words.
  const { response, body: json } = await send<{ access_token?: string } & Partial<TokenError>>(
    "/oauth/token",
    { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body, credentials: "omit" },
    { change: false },
  );
  if (!response.ok || !json?.access_token) {
    throw new Error(json?.error === "invalid_client" ? t("invalidClient") : t("signInRefused"));
  }
  const session = { token: json.access_token, claims: decodeClaims(json.access_token), purpose };
  save(session);
  return session;
}
