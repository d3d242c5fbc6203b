// The signed-in caller as the server describes it (`me`): the agency's name, role and the
// capabilities the policy grants. Used to choose pages and actions only; the server re-checks
// every request. Kept beside the token in sessionStorage.

import { gql } from "./api";
import { AGENCY_NAMES, ME, PERSON_BATCH, PERSON_NAMES } from "./documents";

export interface Me {
  agencyId: string;
  agencyName: string | null;
  agencyType: string;
  role: string;
  jurisdiction: string;
  jurisdictionName: string | null;
  capabilities: string[];
}

const KEY = "shouhu.me";

export function cachedMe(): Me | null {
  const raw = sessionStorage.getItem(KEY);
  return raw ? (JSON.parse(raw) as Me) : null;
}

export async function loadMe(): Promise<Me | null> {
  const known = cachedMe();
  if (known) return known;
  const r = await gql<{ me: Me }>(ME);
  if (!r.data?.me) return null;
  sessionStorage.setItem(KEY, JSON.stringify(r.data.me));
  return r.data.me;
}

export function forgetMe(): void {
  sessionStorage.removeItem(KEY);
}

export function can(me: Me | null, capability: string): boolean {
  return Boolean(me?.capabilities.includes(capability));
}

/** Agency names by id (member units' public names), asked once per id and remembered for the
 * tab's life (sessionStorage, so a new page load does not ask again). */
const AGENCIES_KEY = "shouhu.agencyNames";
const agencyCache = new Map<string, string>(JSON.parse(sessionStorage.getItem(AGENCIES_KEY) ?? "[]") as [string, string][]);

export async function agencyNames(ids: (string | null | undefined)[]): Promise<Map<string, string>> {
  const wanted = [...new Set(ids.filter((i): i is string => Boolean(i) && !agencyCache.has(i as string)))];
  if (wanted.length) {
    const r = await gql<{ agencyNames: { id: string; name: string | null }[] }>(AGENCY_NAMES, { ids: wanted });
    for (const a of r.data?.agencyNames ?? []) if (a.name) agencyCache.set(a.id, a.name);
    sessionStorage.setItem(AGENCIES_KEY, JSON.stringify([...agencyCache]));
  }
  return agencyCache;
}

/** Person names by id, in batches of aliased `person` queries under the caller's policy. */
export async function personNames(ids: string[]): Promise<Map<string, string | null>> {
  const out = new Map<string, string | null>();
  const wanted = [...new Set(ids)];
  for (let i = 0; i < wanted.length; i += PERSON_BATCH) {
    const batch = wanted.slice(i, i + PERSON_BATCH);
    const vars = Object.fromEntries(batch.map((id, n) => [`p${n}`, id]));
    const r = await gql<Record<string, { id: string; name: string | null } | null>>(PERSON_NAMES[batch.length - 1], vars);
    batch.forEach((id, n) => out.set(id, r.data?.[`p${n}`]?.name ?? null));
  }
  return out;
}
