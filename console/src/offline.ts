// Work recorded on the device and sent when the server can be reached. Every entry carries an
// id made on the device, so sending it twice records it once; an entry the server finds in
// conflict with a change made meanwhile stays here as a conflict to resolve, never overwritten.

import { createStore, del, entries, set } from "idb-keyval";

import { Offline, SignedOut } from "./api";
import { current } from "./session";

export type State = "queued" | "sending" | "sent" | "conflict" | "failed";

export interface Entry {
  key: string; // the device-made id, also sent to the server as clientId
  kind: string; // which sender handles it
  title: string; // what the supervisor sees in the queue (no personal data beyond their own entry)
  variables: Record<string, unknown>;
  createdAt: string;
  owner?: string; // the client id that recorded it: only they see it and only under their sign-in is it sent
  state: State;
  message?: string;
  conflict?: Record<string, unknown>;
}

export type Outcome =
  | { state: "sent"; message?: string }
  | { state: "conflict"; message: string; conflict: Record<string, unknown> }
  | { state: "failed"; message: string };

type Sender = (entry: Entry) => Promise<Outcome>;

const store = createStore("shouhu-console", "outbox");
const senders = new Map<string, Sender>();
const listeners = new Set<() => void>();
let flushing: Promise<void> | null = null;

export function registerSender(kind: string, sender: Sender): void {
  senders.set(kind, sender);
}

export function onQueueChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function changed(): void {
  for (const l of listeners) l();
}

/** A v4 UUID from crypto.getRandomValues (randomUUID needs a secure context). */
export function deviceId(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export async function enqueue(
  kind: string,
  title: string,
  variables: Record<string, unknown>,
  key = deviceId(),
  owner = current()?.claims.client_id,
): Promise<Entry> {
  const entry: Entry = { key, kind, title, variables, createdAt: new Date().toISOString(), owner, state: "queued" };
  await set(key, entry, store);
  changed();
  void flush();
  return entry;
}

/** The signed-in user's own entries: on a shared phone another's work is neither shown nor sent. */
export async function all(): Promise<Entry[]> {
  const me = current()?.claims.client_id;
  if (!me) return [];
  const rows = await entries<string, Entry>(store);
  return rows
    .map(([, e]) => e)
    .filter((e) => e.owner === me)
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

export async function update(entry: Entry): Promise<void> {
  await set(entry.key, entry, store);
  changed();
}

export async function remove(key: string): Promise<void> {
  await del(key, store);
  changed();
}

/** Send every queued entry in order; stops at the first sign of no connection. */
export function flush(): Promise<void> {
  flushing ??= (async () => {
    try {
      for (const entry of await all()) {
        if (entry.state !== "queued") continue;
        const sender = senders.get(entry.kind);
        if (!sender) continue;
        let outcome: Outcome;
        try {
          outcome = await sender(entry);
        } catch (err) {
          if (err instanceof Offline || err instanceof SignedOut) return; // stays queued
          outcome = { state: "failed", message: err instanceof Error ? err.message : "Failed." };
        }
        await update({ ...entry, ...outcome });
      }
    } finally {
      flushing = null;
    }
  })();
  return flushing;
}

export function startOfflineSync(): void {
  window.addEventListener("online", () => void flush());
  // A connection can come back without an "online" event (the server restarted): retry now and then.
  setInterval(() => {
    if (navigator.onLine) void flush();
  }, 15_000);
  void flush();
}
