// The console's language: zh-CN by default, English as a switch. One catalogue (messages.ts for
// words, codes.ts for code values), one `t()`; dates and times always in Asia/Shanghai, so a
// Beijing midnight stored as 16:00 UTC is shown as the right day.

import { CODES } from "./codes";
import { MESSAGES, type MessageKey } from "./messages";

export type Lang = "zh-CN" | "en";
const KEY = "shouhu.lang";
export const TZ = "Asia/Shanghai";

export function lang(): Lang {
  return localStorage.getItem(KEY) === "en" ? "en" : "zh-CN";
}

export function setLang(value: Lang): void {
  localStorage.setItem(KEY, value);
  document.documentElement.lang = value;
}

const idx = (): 0 | 1 => (lang() === "en" ? 1 : 0);

/** A message by key, with {name} placeholders filled in. */
export function t(key: MessageKey, vars: Record<string, string | number> = {}): string {
  const text = MESSAGES[key][idx()];
  return text.replace(/\{(\w+)\}/g, (_, name: string) => (name in vars ? String(vars[name]) : `{${name}}`));
}

/** A code value in words; an unknown code is marked (the zh-CN page test fails on it). */
export function code(group: keyof typeof CODES | string, value: string | null | undefined): string {
  if (value === null || value === undefined || value === "") return "—";
  const book = CODES[group];
  const hit = book?.[value] ?? book?.[value.toLowerCase()];
  if (hit) return hit[idx()];
  // Some sources already record the value in Chinese (关系 such as 户主, 孙女): shown as it is.
  if (/[\u4e00-\u9fff]/.test(value)) return value;
  return `${t("unknownCode")}: ${value}`;
}

export function hasCode(group: string, value: string): boolean {
  return Boolean(CODES[group]?.[value]);
}

/** The options of a code group, for a select. */
export function codeOptions(group: string): [string, string][] {
  return Object.entries(CODES[group] ?? {}).map(([k, v]) => [k, v[idx()]]);
}

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/** A date (YYYY-MM-DD), in Beijing; a date-only value is a calendar date and stays as it is. */
export function fmtDate(value: string | null | undefined): string {
  if (!value) return "—";
  if (DATE_ONLY.test(value) || /^\d{4}(-\d{2})?$/.test(value)) return value;
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return value;
  return new Intl.DateTimeFormat("sv-SE", { timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit" }).format(d);
}

/** A moment, in Beijing time: 2026-11-20 08:30. */
export function fmtDateTime(value: string | null | undefined): string {
  if (!value) return "—";
  if (DATE_ONLY.test(value)) return value;
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return value;
  const s = new Intl.DateTimeFormat("sv-SE", {
    timeZone: TZ,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).format(d);
  return s;
}

/** Today's date in Beijing (for date inputs). */
export function todayBeijing(): string {
  return fmtDate(new Date().toISOString());
}

/** A value that may be an ISO moment, a date, a boolean or a plain string, shown in words. */
export function fmtValue(value: string | number | boolean): string {
  if (typeof value === "boolean") return code("bool", String(value));
  if (typeof value === "number") return String(value);
  if (/^\d{4}-\d{2}-\d{2}T/.test(value)) return fmtDateTime(value);
  return value;
}

export type { MessageKey };
