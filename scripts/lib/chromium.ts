/**
 * Which Chromium the browser tests will use, and what to do when there is none: the decision behind
 * `npm test`'s pre-test step (scripts/ensureChromium.ts). Pure, so every branch is tested by table.
 */
import { DEBIAN_HEADLESS_SHELL, resolveChromiumPath } from "../../containers/runner/src/browser";

/**
 * Debian's package of the runner's browser (the image installs the same one): the only Chromium a machine without
 * internet can install (Playwright's download needs it).
 */
export const APT_INSTALL = ["apt-get update", "apt-get install -y chromium-headless-shell"] as const;

export interface ChromiumProbe {
    readonly env: NodeJS.ProcessEnv;
    readonly exists: (path: string) => boolean;
    /** Path of Playwright's own downloaded browser for this playwright-core version (may not exist). */
    readonly playwrightBrowser: string;
    readonly isRoot: boolean;
    readonly hasAptGet: boolean;
}

export type ChromiumPlan =
    | { readonly action: "ready"; readonly path: string }
    | { readonly action: "install"; readonly commands: readonly string[] }
    | { readonly action: "stop"; readonly message: string };

/** The command line an operator runs, with `sudo` unless they are root already. */
export function installCommand(isRoot: boolean): string {
    return APT_INSTALL.map((c) => (isRoot ? c : `sudo ${c}`)).join(" && ");
}

/**
 * Ready with CHROMIUM_PATH or Debian's headless shell (the runner's browser); otherwise install the headless shell when
 * this process may (root with apt-get), so the tests drive the browser the runner ships; otherwise ready with what the
 * runner would fall back to (Debian's /usr/bin/chromium, Playwright's own); otherwise stop with the exact command.
 */
export function planChromium(probe: ChromiumProbe): ChromiumPlan {
    let resolved: string | undefined;
    try {
        resolved = resolveChromiumPath(probe.env, probe.exists);
    } catch (err) {
        // CHROMIUM_PATH names a missing file: installing a package would not fix that setting.
        return { action: "stop", message: (err as Error).message };
    }
    if (resolved !== undefined && (probe.env.CHROMIUM_PATH?.trim() || resolved === DEBIAN_HEADLESS_SHELL)) {
        return { action: "ready", path: resolved };
    }
    if (probe.isRoot && probe.hasAptGet) return { action: "install", commands: [...APT_INSTALL] };
    if (resolved !== undefined) return { action: "ready", path: resolved };
    if (probe.exists(probe.playwrightBrowser)) return { action: "ready", path: probe.playwrightBrowser };
    return {
        action: "stop",
        message:
            "The browser tests need Chromium and none was found (CHROMIUM_PATH unset, no " +
            "/usr/bin/chromium-headless-shell or /usr/bin/chromium, " +
            `no Playwright browser). Install Debian's package:\n\n    ${installCommand(false)}\n\n` +
            "or set CHROMIUM_PATH to a Chromium binary, then run the tests again.",
    };
}
