// History-API routes under /console; the server answers every such path with index.html.

export const BASE = "/console";

type Render = (root: HTMLElement, params: URLSearchParams, rest: string) => Promise<void> | void;

const routes = new Map<string, Render>();
let onChange: (() => void) | null = null;

export function route(name: string, render: Render): void {
  routes.set(name, render);
}

export function navigate(path: string, replace = false): void {
  const url = path.startsWith(BASE) ? path : `${BASE}/${path.replace(/^\//, "")}`;
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  onChange?.();
}

export function href(path: string): string {
  return `${BASE}/${path.replace(/^\//, "")}`;
}

/** The page name, the rest of the path (e.g. an id) and the query. */
export function location_(): { name: string; rest: string; params: URLSearchParams } {
  const path = window.location.pathname.startsWith(BASE)
    ? window.location.pathname.slice(BASE.length)
    : window.location.pathname;
  const [, name = "", ...rest] = path.split("/");
  return {
    name,
    rest: rest.map(decodeURIComponent).join("/"),
    params: new URLSearchParams(window.location.search),
  };
}

export function resolve(name: string): Render | undefined {
  return routes.get(name);
}

export function start(change: () => void): void {
  onChange = change;
  window.addEventListener("popstate", change);
  // Same-origin links under /console navigate without a reload.
  document.addEventListener("click", (event) => {
    const target = (event.target as Element | null)?.closest("a");
    if (!target || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey) return;
    const url = new URL(target.href, window.location.href);
    if (url.origin !== window.location.origin || !url.pathname.startsWith(BASE) || target.download) return;
    event.preventDefault();
    navigate(url.pathname + url.search);
  });
  change();
}
