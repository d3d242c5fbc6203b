// How one field looks: its value, masked as the server masked it, or "not permitted" where the
// policy denied it (null in the data, an error at its path). The console never fills a gap.

import type { GqlError } from "./api";
import { h } from "./dom";

export type Value = string | number | boolean | null | undefined;

export class FieldView {
  constructor(private readonly errors: Map<string, GqlError>) {}

  value(path: (string | number)[], value: Value): HTMLElement {
    const key = path.join(".");
    const err = this.errors.get(key);
    if ((value === null || value === undefined) && err) {
      const reason = err.extensions?.reason ?? "policy";
      return h("span", { class: "denied", title: `policy: ${reason}`, "data-field": key }, "not permitted");
    }
    if (value === null || value === undefined || value === "") {
      return h("span", { class: "empty", "data-field": key }, "—");
    }
    const shown = typeof value === "boolean" ? (value ? "yes" : "no") : String(value);
    if (typeof value === "string" && value.includes("*")) {
      return h("span", { class: "masked", title: "masked by policy", "data-field": key }, shown);
    }
    return h("span", { class: "value", "data-field": key }, shown);
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
