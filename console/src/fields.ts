// How one field looks: its value, masked as the server masked it, or "not permitted" where the
// policy denied it (null in the data, an error at its path). The console never fills a gap.
// Code values are shown in words (a `group` from the code book), moments in Beijing time.

import type { GqlError } from "./api";
import { h } from "./dom";
import { code, fmtValue, t } from "./i18n";

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
