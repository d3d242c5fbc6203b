// The console is one more client of POST /graphql: the same token, purpose header and policy
// as any agency system. Field errors come back beside the data and are shown where they apply.

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

/** No connection: the caller may queue the work for later. */
export class Offline extends Error {
  constructor() {
    super("No connection to the server.");
  }
}

export class SignedOut extends Error {
  constructor() {
    super("Your session has ended: sign in again.");
  }
}

export async function gql<T>(query: string, variables: Record<string, unknown> = {}): Promise<GqlResult<T>> {
  const session = current();
  if (!session) throw new SignedOut();
  let response: Response;
  try {
    response = await fetch("/graphql", {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Authorization: `Bearer ${session.token}`,
        "X-Purpose-Of-Use": session.purpose,
      },
      body: JSON.stringify({ query, variables }),
      credentials: "omit",
      cache: "no-store",
    });
  } catch {
    throw new Offline();
  }
  if (response.status === 401) {
    signOut();
    throw new SignedOut();
  }
  let body: { data?: T | null; errors?: GqlError[] };
  try {
    body = await response.json();
  } catch {
    throw new Error(`The server answered ${response.status} without a GraphQL result.`);
  }
  return { data: body.data ?? null, errors: body.errors ?? [] };
}

/** Errors that are not about one field: the whole operation failed. */
export function topLevelError(result: GqlResult<unknown>): GqlError | undefined {
  if (result.data === null) return result.errors[0] ?? { message: "No data." };
  return undefined;
}

export function errorText(err: GqlError): string {
  const code = err.extensions?.code;
  if (code === "NOT_FOUND") return "Not found, or outside your scope.";
  if (code === "FORBIDDEN") return `Not permitted (${err.extensions?.reason ?? "policy"}).`;
  return err.message;
}

/** Field errors by path, e.g. "person.parents.0.person.idNumber". */
export function errorsByPath(result: GqlResult<unknown>): Map<string, GqlError> {
  const map = new Map<string, GqlError>();
  for (const err of result.errors) if (err.path) map.set(err.path.join("."), err);
  return map;
}
