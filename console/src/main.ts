import "./style.css";

import { SignedOut } from "./api";
import { config } from "./config";
import { h, mount, notice } from "./dom";
import { startOfflineSync } from "./offline";
import { renderAudit } from "./pages/audit";
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
  label: string;
}

/** Pages offered per agency type; the server decides what each may actually do. */
function navFor(session: Session): NavItem[] {
  const search = { page: "search", label: "Search 查询" };
  const items: Record<string, NavItem[]> = {
    analyst: [
      search,
      { page: "network", label: "Network 关系网络" },
      { page: "statistics", label: "Statistics 统计" },
    ],
    auditor: [
      { page: "audit", label: "Audit log 审计" },
      { page: "statistics", label: "Statistics 统计" },
      search,
    ],
    village_committee: [{ page: "village", label: "Village 走访与报告" }, search],
    public_security: [
      { page: "reports", label: "Reports 强制报告" },
      { page: "worklist", label: "Cases 个案" },
      search,
    ],
    civil_affairs: [
      { page: "worklist", label: "Cases 个案" },
      { page: "statistics", label: "Statistics 统计" },
      { page: "audit", label: "Audit log 审计" },
      search,
    ],
    township: [{ page: "worklist", label: "Cases 个案" }, { page: "statistics", label: "Statistics 统计" }, search],
  };
  return items[session.claims.agency_type] ?? [search];
}

function header(session: Session | null, page: string): void {
  const top = document.getElementById("top") as HTMLElement;
  if (!session) {
    mount(top, h("span", { class: "brand" }, "守护 Shouhu"));
    return;
  }
  const purposeSelect = h("select", {
    id: "purpose-switch",
    "aria-label": "Purpose of use",
    onchange: (e: Event) => {
      setPurpose((e.target as HTMLSelectElement).value);
      render();
    },
  });
  void config().then((cfg) => {
    for (const p of cfg.purposes) {
      purposeSelect.append(h("option", { value: p.code, selected: p.code === session.purpose }, `${p.zh} (${p.code})`));
    }
  });
  mount(
    top,
    h("span", { class: "brand" }, "守护 Shouhu"),
    h(
      "nav",
      {},
      navFor(session).map((item) =>
        h("a", { href: href(item.page), class: item.page === page ? "active" : "", "data-nav": item.page }, item.label),
      ),
    ),
    h(
      "span",
      { class: "who" },
      h("span", { id: "who-agency" }, `${session.claims.agency} · ${session.claims.role}`),
      purposeSelect,
      h(
        "button",
        {
          type: "button",
          id: "sign-out",
          onclick: () => {
            signOut();
            navigate("signin");
          },
        },
        "Sign out",
      ),
    ),
  );
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

export function homeFor(session: Session): string {
  return navFor(session)[0].page;
}

async function render(): Promise<void> {
  const root = document.getElementById("app") as HTMLElement;
  const { name, rest, params } = location_();
  const session = current();
  if (!session && name !== "signin") {
    navigate(`signin?next=${encodeURIComponent(window.location.pathname + window.location.search)}`, true);
    return;
  }
  if (session && (name === "" || name === "index.html")) {
    navigate(homeFor(session), true);
    return;
  }
  header(session, name);
  const page = resolve(name);
  if (!page) {
    mount(root, notice("No such page.", "error"));
    return;
  }
  try {
    await page(root, params, rest);
  } catch (err) {
    if (err instanceof SignedOut) {
      navigate("signin", true);
      return;
    }
    mount(root, notice(err instanceof Error ? err.message : "Something went wrong.", "error"));
  }
}

start(() => void render());
startOfflineSync();
