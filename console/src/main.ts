import "./style.css";

import { SignedOut } from "./api";
import { config } from "./config";
import { h, mount, notice } from "./dom";
import { code, lang, setLang, t } from "./i18n";
import type { MessageKey } from "./i18n";
import { type Me, can, cachedMe, forgetMe, loadMe } from "./me";
import { startOfflineSync } from "./offline";
import { renderAgreements } from "./pages/agreements";
import { renderAudit } from "./pages/audit";
import { renderCaseFile } from "./pages/casefile";
import { renderChain } from "./pages/chain";
import { renderCrosscheck } from "./pages/crosscheck";
import { renderReview } from "./pages/review";
import { renderNetwork } from "./pages/network";
import { renderProfile } from "./pages/profile";
import { renderReports } from "./pages/reports";
import { renderSearch } from "./pages/search";
import { renderSignIn } from "./pages/signin";
import { renderStatistics } from "./pages/statistics";
import { renderVillage } from "./pages/village";
import { renderWorklist } from "./pages/worklist";
import { href, location_, navigate, resolve, route, start } from "./router";
import { type Session, current, setPurpose, signOut } from "./session";

interface NavItem {
  page: string;
  label: MessageKey;
  /** Offered when the caller holds any of these capabilities (none listed: everyone). */
  any: string[];
}

/** Every page, in the order offered; a role sees those its capabilities allow. */
const PAGES: NavItem[] = [
  { page: "audit", label: "navAudit", any: ["read_audit_log"] },
  { page: "reports", label: "navReports", any: ["accept_report"] },
  {
    page: "worklist",
    label: "navCases",
    any: ["read_worklist", "accept_report", "lead_assessment", "record_emergency_action", "decide_guardianship"],
  },
  { page: "village", label: "navVillage", any: ["record_visit"] },
  { page: "network", label: "navNetwork", any: ["pseudonymised_networks"] },
  { page: "statistics", label: "navStatistics", any: ["read_statistics", "read_classification"] },
  { page: "search", label: "navSearch", any: [] },
  // The workflow pages (评估帮扶 and 监护干预 open from a case, /case/<id>).
  { page: "agreements", label: "navAgreements", any: ["manage_agreements"] },
  { page: "review", label: "navReview", any: ["review_matches"] },
  { page: "crosscheck", label: "navCrosscheck", any: ["read_crosscheck"] },
  { page: "chain", label: "navChain", any: ["submit_periodic_report", "approve_periodic_report"] },
];

export function navFor(me: Me | null): NavItem[] {
  const pages = PAGES.filter((p) => p.any.length === 0 || p.any.some((c) => can(me, c)));
  // A village's 儿童主任 works from the phone page first.
  if (me?.agencyType === "village_committee") pages.sort((a, b) => Number(b.page === "village") - Number(a.page === "village"));
  return pages;
}

function header(session: Session | null, me: Me | null, page: string): void {
  const top = document.getElementById("top") as HTMLElement;
  const langSwitch = h(
    "button",
    {
      type: "button",
      id: "lang-switch",
      class: "lang",
      lang: lang() === "en" ? "zh-CN" : "en",
      onclick: () => {
        setLang(lang() === "en" ? "zh-CN" : "en");
        void render();
      },
    },
    lang() === "en" ? "中文" : "English",
  );
  if (!session) {
    mount(top, h("span", { class: "brand" }, t("brand")), h("span", { class: "who" }, langSwitch));
    return;
  }
  const purposeSelect = h("select", {
    id: "purpose-switch",
    "aria-label": t("purposeOfUse"),
    onchange: (e: Event) => {
      setPurpose((e.target as HTMLSelectElement).value);
      void render();
    },
  });
  void config().then(
    (cfg) => {
      for (const p of cfg.purposes) {
        purposeSelect.append(h("option", { value: p.code, selected: p.code === session.purpose }, lang() === "en" ? p.code.replace(/_/g, " ") : p.zh));
      }
    },
    () => {
      // Without the settings there are no purposes to offer: the selector goes (the purpose declared
      // at sign-in stays), and a page that needs the settings says they could not be loaded, once.
      purposeSelect.remove();
    },
  );
  const who = me
    ? `${me.agencyName ?? t("unnamedAgency")} · ${code("userRole", me.role)}`
    : `${code("agencyType", session.claims.agency_type)} · ${code("userRole", session.claims.role)}`;
  mount(
    top,
    h("span", { class: "brand" }, t("brand")),
    h(
      "nav",
      { "aria-label": t("mainNav") },
      navFor(me).map((item) =>
        h("a", { href: href(item.page), class: item.page === page ? "active" : "", "data-nav": item.page }, t(item.label)),
      ),
    ),
    h(
      "span",
      { class: "who" },
      h("span", { id: "who-agency" }, who),
      h("span", { id: "token-clock", class: "token-clock", role: "status" }),
      purposeSelect,
      langSwitch,
      h(
        "button",
        {
          type: "button",
          id: "sign-out",
          onclick: () => {
            signOut(true);
            forgetMe();
            navigate("signin");
          },
        },
        t("signOut"),
      ),
    ),
  );
  tokenClock(session);
}

let clockTimer: number | undefined;

/** Tells the user before the token runs out (the server's lifetime, 15 minutes by default). */
function tokenClock(session: Session): void {
  window.clearInterval(clockTimer);
  const tick = (): void => {
    const el = document.getElementById("token-clock");
    if (!el) return;
    const left = Math.round(session.claims.exp - Date.now() / 1000);
    if (left <= 0) {
      window.clearInterval(clockTimer);
      signOut();
      forgetMe();
      navigate(`signin?expired=1&next=${encodeURIComponent(window.location.pathname)}`, true);
      return;
    }
    const minutes = Math.ceil(left / 60);
    el.textContent = left <= 120 ? t("sessionEndsSoon", { minutes }) : t("sessionLeft", { minutes });
    el.className = left <= 120 ? "token-clock warn" : "token-clock";
  };
  tick();
  clockTimer = window.setInterval(tick, 15_000);
}

route("signin", renderSignIn);
route("search", renderSearch);
route("person", (root, _p, rest) => renderProfile(root, rest));
route("network", (root, params, rest) => renderNetwork(root, rest, params));
route("audit", renderAudit);
route("worklist", renderWorklist);
route("statistics", renderStatistics);
route("village", renderVillage);
route("reports", renderReports);
route("case", (root, _p, rest) => renderCaseFile(root, rest));
route("agreements", renderAgreements);
route("review", renderReview);
route("crosscheck", renderCrosscheck);
route("chain", renderChain);

export function homeFor(me: Me | null): string {
  return navFor(me)[0].page;
}

async function render(): Promise<void> {
  document.documentElement.lang = lang();
  document.title = t("title");
  // Each render draws into its own container: a slower earlier page finishing late writes into
  // a detached element, never over the page the user moved to.
  const app = document.getElementById("app") as HTMLElement;
  const root = document.createElement("div");
  root.className = "page";
  app.replaceChildren(root);
  const { name, rest, params } = location_();
  const session = current();
  if (!session && name !== "signin") {
    navigate(`signin?next=${encodeURIComponent(window.location.pathname + window.location.search)}`, true);
    return;
  }
  let me: Me | null = null;
  if (session) {
    try {
      me = cachedMe() ?? (await loadMe());
    } catch (err) {
      if (err instanceof SignedOut) {
        navigate("signin", true);
        return;
      }
      me = null;
    }
  }
  if (session && (name === "" || name === "index.html")) {
    navigate(homeFor(me), true);
    return;
  }
  header(session, me, name);
  const page = resolve(name);
  if (!page) {
    mount(root, notice(t("noSuchPage"), "error"));
    return;
  }
  if (session && name !== "person" && name !== "case" && !(name === "network" && can(me, "trace_networks")) && !navFor(me).some((p) => p.page === name)) {
    mount(root, notice(t("pageNotForRole"), "error"));
    return;
  }
  try {
    await page(root, params, rest);
  } catch (err) {
    if (err instanceof SignedOut) {
      navigate("signin?expired=1", true);
      return;
    }
    mount(root, notice(err instanceof Error ? err.message : t("somethingWrong"), "error"));
  }
}

start(() => void render());
startOfflineSync();
