// Sign-in with the platform's own identities: an agency client's id and secret, exchanged at
// POST /oauth/token for a short-lived access token; the purpose of use comes from the policy.

import { config } from "../config";
import { formValue, h, mount, notice } from "../dom";
import { lang, t } from "../i18n";
import { forgetMe, loadMe } from "../me";
import { navigate } from "../router";
import { signIn, takeExpired } from "../session";

export async function renderSignIn(root: HTMLElement, params: URLSearchParams): Promise<void> {
  const cfg = await config();
  const expired = takeExpired() || params.get("expired") !== null;
  const status = h("div", { id: "signin-status" });
  const form = h(
    "form",
    { id: "signin", class: "card narrow", autocomplete: "off" },
    h("h1", {}, t("signInTitle")),
    expired ? h("p", { class: "notice error", role: "alert", id: "session-expired" }, t("sessionExpired")) : null,
    h("p", { class: "hint" }, t("signInHint")),
    h("label", {}, t("clientId"), h("input", { name: "client_id", id: "client-id", required: true, autocomplete: "username" })),
    h(
      "label",
      {},
      t("secret"),
      h("input", { name: "secret", id: "client-secret", type: "password", required: true, autocomplete: "current-password" }),
    ),
    h(
      "label",
      {},
      t("purposeOfUse"),
      h(
        "select",
        { name: "purpose", id: "purpose", required: true },
        cfg.purposes.map((p) => h("option", { value: p.code }, lang() === "en" ? p.code.replace(/_/g, " ") : p.zh)),
      ),
    ),
    h("button", { type: "submit", id: "signin-submit" }, t("signIn")),
    status,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    mount(status, notice(t("signingIn")));
    try {
      forgetMe();
      await signIn(formValue(form, "client_id"), formValue(form, "secret"), formValue(form, "purpose"));
      await loadMe();
    } catch (err) {
      mount(status, notice(err instanceof Error ? err.message : t("signInFailed"), "error"));
      return;
    }
    const next = params.get("next");
    navigate(next && next.startsWith("/console/") && !next.startsWith("/console/signin") ? next : "/console/", true);
  });
  mount(root, form);
}
