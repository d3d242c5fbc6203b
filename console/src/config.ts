// What the server tells the console about itself: the policy's purposes of use.

export interface Purpose {
  code: string;
  zh: string;
}

export interface ConsoleConfig {
  policy_version: string;
  purposes: Purpose[];
}

let cached: Promise<ConsoleConfig> | null = null;

export function config(): Promise<ConsoleConfig> {
  cached ??= fetch("/console/config.json", { credentials: "omit" }).then((r) => {
    if (!r.ok) throw new Error("The console configuration could not be loaded.");
    return r.json() as Promise<ConsoleConfig>;
  });
  return cached;
}
