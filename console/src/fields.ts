// How one field looks: its value, masked as the server masked it, or "not permitted" where the
// policy denied it (null in the data, an error at its path). The console never fills a gap.
// Code values are shown in words (a `group` from the code book), moments in Beijing time.

import type { GqlError } from "./api";
import { h } from "./dom";
import { code, fmtValue, hasCode, t } from "./i18n";

export type Value = string | number | boolean | null | undefined;

export class FieldView {
  constructor(private readonly errors: Map<string, GqlError>) {}

  value(path: (string | number)[], value: Value, group?: string): HTMLElement {
    const key = path.join(".");
    const err = this.errors.get(key);
    if ((value === null || value === undefined) && err) {
      const reason = err.extensions?.reason ?? "policy";
      return h("span", { class: "denied", title: code("reason", reason), "data-field": key, "data-reason": reason }, t("notPermittedShort"));
    }
    if (value === null || value === undefined || value === "") {
      return h("span", { class: "empty", "data-field": key }, "—");
    }
    if (typeof value === "string" && value.includes("*")) {
      return h("span", { class: "masked", title: t("maskedByPolicy"), "data-field": key }, value);
    }
    const shown = group && typeof value === "string" ? code(group, value) : fmtValue(value);
    return h("span", { class: "value", "data-field": key, "data-code": group ? String(value) : null }, shown);
  }

  denied(path: (string | number)[]): GqlError | undefined {
    return this.errors.get(path.join("."));
  }
}

/** A definition list of label → field. */
export function facts(rows: [string, HTMLElement][]): HTMLElement {
  return h(
    "dl",
    { class: "facts" },
    rows.map(([label, value]) => [h("dt", {}, label), h("dd", {}, value)]),
  );
}

/**
 * A field's name in words, from the one table of field names (the code book's `attribute`): the
 * graph names properties in snake_case, the API its fields in camelCase, said the same way. Null
 * where the table has no word for it (the caller says so in its own way).
 */
export function fieldName(name: string): string | null {
  const snake = name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  return hasCode("attribute", snake) ? code("attribute", snake) : null;
}

/** The kind of record a field belongs to (`Person`, `HealthEvent`, `MandatoryReport`, `PARENT_OF`)
 * in words, from the record kinds and relationship types the code book already says; else null. */
function kindName(kind: string): string | null {
  const snake = kind.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();
  for (const key of [kind.toLowerCase(), snake]) if (hasCode("recordKind", key)) return code("recordKind", key);
  return hasCode("relType", kind) ? code("relType", kind) : null;
}

/**
 * A field an audit entry names (`Person.id_number`, `ProtectionCaseFile.summary`, `Person.row` for
 * a whole record refused) in words: the field's name and whose record it is. A field the table has
 * no word for (a newer server's) is "other field", of its kind where that is known.
 */
export function fieldPathLabel(path: string): string {
  const dot = path.indexOf(".");
  const kind = dot > 0 ? kindName(path.slice(0, dot)) : null;
  const field = fieldName(path.slice(dot + 1)) ?? t("fieldOther");
  return kind ? t("fieldOfKind", { kind, field }) : field;
}
