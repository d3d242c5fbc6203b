// Sign-in with the platform's own identities: an agency client's id and secret, exchanged at
// POST /oauth/token for a short-lived access token; the purpose of use comes from the policy.

import { config } from "../config";
import { formValue, h, mount, notice } from "../dom";
import { navigate } from "../router";
import { signIn } from "../session";

export async function renderSignIn(root: HTMLElement, params: URLSearchParams): Promise<void> {
  const cfg = await config();
  const status = h("div", { id: "signin-status" });
  const form = h(
    "form",
    { id: "signin", class: "card narrow", autocomplete: "off" },
    h("h1", {}, "Sign in 登录"),
    h("p", { class: "hint" }, "Use your agency client's id and secret. Every request is audited."),
    h("label", {}, "Client id", h("input", { name: "client_id", id: "client-id", required: true, autocomplete: "username" })),
    h(
      "label",
      {},
      "Secret",
      h("input", { name: "secret", id: "client-secret", type: "password", required: true, autocomplete: "current-password" }),
    ),
    h(
      "label",
      {},
      "Purpose of use 使用目的",
      h(
        "select",
        { name: "purpose", id: "purpose", required: true },
        cfg.purposes.map((p) => h("option", { value: p.code }, `${p.zh} (${p.code})`)),
      ),
    ),
    h("button", { type: "submit", id: "signin-submit" }, "Sign in"),
    status,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    mount(status, notice("Signing in…"));
    try {
      await signIn(formValue(form, "client_id"), formValue(form, "secret"), formValue(form, "purpose"));
    } catch (err) {
      mount(status, notice(err instanceof Error ? err.message : "Sign-in failed.", "error"));
      return;
    }
    const next = params.get("next");
    navigate(next && next.startsWith("/console/") && !next.startsWith("/console/signin") ? next : "/console/", true);
  });
  mount(root, form);
}
