/**
 * Chromium for the runner: which binary, which flags, its sandbox, its environment, and contexts that cost little.
 * Every page the runner opens is on a site nobody here controls (policy/THREAT_MODEL.md "Hostile sites"): Chromium
 * runs with its sandbox, as an unprivileged user, with an environment that holds nothing worth stealing.
 */
import * as fs from "fs";
import { chromium, type Browser, type BrowserContext } from "playwright-core";
import { installRequestBlocking } from "./blocking";

/**
 * Flags for a headless Chromium in a container without a GPU; the background services would only phone home (the
 * job has no use for updates or sync). No `--no-sandbox` here: `sandboxPolicy` decides, and Playwright adds
 * `--no-sandbox` itself unless its `chromiumSandbox` option is true (playwright-core chromium.ts).
 */
export const CHROMIUM_ARGS: readonly string[] = [
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--mute-audio",
    "--no-default-browser-check",
    // Site isolation stays off (one renderer may serve several recipient sites): decided by measurement, see
    // SITE_ISOLATION below.
    "--disable-site-isolation-trials",
    "--disable-features=Translate,MediaRouter,OptimizationHints,IsolateOrigins,site-per-process",
];

/**
 * Site isolation stays off: measured, then decided (issue 19). What it would add here is a separate renderer per
 * recipient site, so one site's exploit could not read another recipient's page in the same renderer. Those pages
 * are public contact forms, the only personal data in them is the client's own profile that every recipient is sent
 * anyway, contexts carry no logins and are recycled every 20 forms, and nothing the job holds (the Supabase key, AWS
 * credentials) is in any renderer. The boundary that protects the job is the OS sandbox around every renderer.
 *
 * Figures (2 vCPU machine shared with other sessions, load average 30-45 throughout, so only same-run comparisons
 * mean much; Chromium 156 from bookworm-security):
 * - `npm run bench -- runner`, pool of 4 workers: before (no sandbox, isolation off, as root) 36.7 forms/min, peak
 *   PSS 768 MiB, 19 processes (load ~6); with the sandbox (as an unprivileged user) 26.6 forms/min, 22 processes (load
 *   ~40; its PSS, 594 MiB, undercounts: an unprivileged sampler cannot read sandboxed processes' smaps). The run with
 *   isolation on did not finish within the session under that load.
 * - The same pool driven by a one-off script, interleaved in one session, two rounds (48 forms each, 4 workers, PSS
 *   sampled by root over the whole tree), round 1 / round 2: no sandbox, isolation off 8.3 / 9.7 forms/min, peak PSS
 *   753 / 747 MiB, 18-19 processes; sandbox on, isolation off 9.4 / 9.4 forms/min, 771 / 708 MiB, 21-22 processes;
 *   sandbox on, isolation on 6.0 / 11.6 forms/min, 610 / 752 MiB, 23-25 processes.
 * The sandbox costs nothing measurable. Isolation's cost is lost in the noise of that load (one round a third slower,
 * the other faster) apart from a few more processes; the corpus has one cross-site iframe, while real contact pages
 * embed several (reCAPTCHA, maps, form widgets), each of which gets its own renderer process under isolation. With no
 * asset of this job to protect, it stays off; revisit with a run on a quiet machine, or if pages ever run with a
 * logged-in session or the job keeps data in a page.
 */
export const SITE_ISOLATION = "off";

/**
 * Debian's chromium-headless-shell: the same Blink and V8 as the chromium package without the desktop browser
 * around them (the binary Playwright itself launches for headless runs). On the realistic sites it spends 1.61 CPU s
 * and 62 MiB PSS per form where /usr/bin/chromium spends 2.59 s and 107 MiB, with the same outcomes (issue 17,
 * `npm run bench -- density`, both measured in one session). The runner image installs it.
 */
export const DEBIAN_HEADLESS_SHELL = "/usr/bin/chromium-headless-shell";
/** Debian's full chromium package: used when the headless shell is not installed (a developer's machine). */
export const DEBIAN_CHROMIUM = "/usr/bin/chromium";

/**
 * `CHROMIUM_PATH` if set, else Debian's headless shell, else Debian's /usr/bin/chromium, else undefined (Playwright's
 * own).
 */
export function resolveChromiumPath(
    env: NodeJS.ProcessEnv = process.env,
    exists: (p: string) => boolean = fs.existsSync,
): string | undefined {
    const fromEnv = env.CHROMIUM_PATH?.trim();
    if (fromEnv) {
        if (!exists(fromEnv)) {
            throw new Error(
                `CHROMIUM_PATH is "${fromEnv}" but no file is there; point it at a Chromium binary or unset it`,
            );
        }
        return fromEnv;
    }
    return [DEBIAN_HEADLESS_SHELL, DEBIAN_CHROMIUM].find((p) => exists(p));
}

/** The setting that lets Chromium run without its sandbox: local development only. */
export const ALLOW_NO_SANDBOX = "RUNNER_ALLOW_NO_SANDBOX";

/** What the runner does about Chromium's sandbox, from `RUNNER_ALLOW_NO_SANDBOX` and the user it runs as. */
export interface SandboxPolicy {
    /** Launch with Chromium's sandbox (Playwright's `chromiumSandbox`). */
    readonly sandbox: boolean;
    /** Why, for the log line at every browser start. */
    readonly reason: string;
}

export class SandboxError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "SandboxError";
    }
}

/**
 * Chromium runs sandboxed unless `RUNNER_ALLOW_NO_SANDBOX=1` says otherwise. Chromium's sandbox cannot run as root
 * (Chromium exits with "Running as root without --no-sandbox is not supported. See https://crbug.com/638180",
 * content/browser/zygote_host/zygote_host_impl_linux.cc), so root without the setting is refused here, before a
 * browser starts, with the fix.
 */
export function sandboxPolicy(env: NodeJS.ProcessEnv, uid: number | undefined = process.getuid?.()): SandboxPolicy {
    const raw = env[ALLOW_NO_SANDBOX];
    const value = raw?.trim() ?? "";
    if (value === "1") {
        return { sandbox: false, reason: `${ALLOW_NO_SANDBOX}=1: sandbox off (local development only)` };
    }
    if (value !== "" && value !== "0") {
        throw new SandboxError(
            `${ALLOW_NO_SANDBOX} must be 1 (run Chromium without its sandbox, local development only), 0 or unset, ` +
                `got "${raw}"; unset it to keep the sandbox on`,
        );
    }
    if (uid === 0) {
        throw new SandboxError(
            "the runner runs as root, where Chromium's sandbox cannot start, and it will not start a browser " +
                `without the sandbox (${ALLOW_NO_SANDBOX} is ${raw === undefined ? "unset" : `"${raw}"`}): run it ` +
                `as an unprivileged user (the image's USER runner), or set ${ALLOW_NO_SANDBOX}=1 for local development`,
        );
    }
    return { sandbox: true, reason: "sandbox required" };
}

/**
 * The only variables Chromium gets, never the runner's own (the ECS credentials endpoint, job settings, anything a
 * later change adds): a renderer exploit can read its process's environment and command line.
 */
export const CHROMIUM_ENV_NAMES: readonly string[] = [
    "PATH",
    "HOME",
    "TMPDIR",
    "LANG",
    "LC_ALL",
    "TZ",
    "XDG_CONFIG_HOME",
    "XDG_CACHE_HOME",
    "FONTCONFIG_PATH",
];

export function chromiumEnv(env: NodeJS.ProcessEnv): Record<string, string> {
    const out: Record<string, string> = {};
    for (const name of CHROMIUM_ENV_NAMES) {
        const v = env[name];
        if (v !== undefined) out[name] = v;
    }
    out.PATH ??= "/usr/local/bin:/usr/bin:/bin";
    return out;
}

/**
 * What the sandbox looks like from outside, read off every renderer process in /proc (the way the kernel enforces it,
 * not what Chromium says of itself; the headless shell has no chrome://sandbox page). Layer 1 is "Namespace" (its own
 * user namespace, Chromium's namespace sandbox), "SUID" (new PID namespace without a user namespace: the setuid
 * helper) or "None".
 */
export interface SandboxStatus {
    readonly layer1: string;
    readonly pidNamespace: boolean;
    readonly networkNamespace: boolean;
    readonly seccompBpf: boolean;
    /** Every renderer has layer 1, PID and network namespaces and a seccomp-bpf filter. */
    readonly adequate: boolean;
    /** How many renderer processes were inspected. */
    readonly renderers: number;
}

/** What the runner reports when Playwright started Chromium with --no-sandbox. */
const NO_SANDBOX: SandboxStatus = {
    layer1: "None",
    pidNamespace: false,
    networkNamespace: false,
    seccompBpf: false,
    adequate: false,
    renderers: 0,
};

/** One process's confinement as /proc shows it: its namespaces and /proc/<pid>/status's Seccomp mode. */
export interface ProcessConfinement {
    readonly userNs: string;
    readonly pidNs: string;
    readonly netNs: string;
    /** 0 none, 1 strict, 2 filter (seccomp-bpf): proc(5). */
    readonly seccomp: number;
}

export function readConfinement(pid: number): ProcessConfinement {
    const ns = (name: string) => fs.readlinkSync(`/proc/${pid}/ns/${name}`);
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    return {
        userNs: ns("user"),
        pidNs: ns("pid"),
        netNs: ns("net"),
        seccomp: Number(/^Seccomp:\s+(\d)/m.exec(status)?.[1] ?? 0),
    };
}

/** The sandbox of the renderers, judged against the browser process (every renderer must hold). */
export function judgeSandbox(browser: ProcessConfinement, renderers: readonly ProcessConfinement[]): SandboxStatus {
    if (renderers.length === 0) return NO_SANDBOX;
    const all = (test: (r: ProcessConfinement) => boolean) => renderers.every(test);
    const pidNamespace = all((r) => r.pidNs !== browser.pidNs);
    const networkNamespace = all((r) => r.netNs !== browser.netNs);
    const seccompBpf = all((r) => r.seccomp === 2);
    const layer1 = all((r) => r.userNs !== browser.userNs) ? "Namespace" : pidNamespace ? "SUID" : "None";
    return {
        layer1,
        pidNamespace,
        networkNamespace,
        seccompBpf,
        adequate: layer1 !== "None" && pidNamespace && networkNamespace && seccompBpf,
        renderers: renderers.length,
    };
}

/**
 * Opens a page in a throwaway context (so at least one renderer runs), asks Chromium for its processes over CDP
 * (SystemInfo.getProcessInfo: type and pid) and judges every renderer's confinement against the browser process's.
 */
export async function readSandboxStatus(browser: Browser): Promise<SandboxStatus> {
    const context = await browser.newContext();
    const cdp = await browser.newBrowserCDPSession();
    try {
        const page = await context.newPage();
        await page.setContent("<p>sandbox check</p>");
        const { processInfo } = (await cdp.send("SystemInfo.getProcessInfo")) as {
            processInfo: { type: string; id: number }[];
        };
        const own = processInfo.find((p) => p.type === "browser");
        if (!own) throw new SandboxError("Chromium did not report its browser process (SystemInfo.getProcessInfo)");
        // A renderer that ended meanwhile has nothing to judge; none left at all is judged as no sandbox.
        const renderers = processInfo
            .filter((p) => p.type === "renderer")
            .flatMap((p) => (fs.existsSync(`/proc/${p.id}`) ? [readConfinement(p.id)] : []));
        return judgeSandbox(readConfinement(own.id), renderers);
    } finally {
        await cdp.detach().catch(() => undefined);
        await context.close();
    }
}

/** Receives, at every browser start, the policy and what Chromium reports (the job logs it). */
export type SandboxReporter = (policy: SandboxPolicy, status: SandboxStatus) => void;

/**
 * Starts Chromium with its sandbox (`sandboxPolicy`) and a minimal environment (`chromiumEnv`), then reads what
 * Chromium reports: a browser that should be sandboxed and is not is closed and refused.
 */
export async function launchBrowser(
    env: NodeJS.ProcessEnv = process.env,
    report: SandboxReporter = () => undefined,
): Promise<Browser> {
    const policy = sandboxPolicy(env);
    let browser: Browser;
    try {
        browser = await chromium.launch({
            executablePath: resolveChromiumPath(env),
            headless: true,
            chromiumSandbox: policy.sandbox,
            args: [...CHROMIUM_ARGS],
            env: chromiumEnv(env),
            // The job owns shutdown: Playwright must not kill Chromium on SIGTERM while in-flight
            // forms are still finishing within the grace period.
            handleSIGTERM: false,
            handleSIGINT: false,
            handleSIGHUP: false,
        });
    } catch (err) {
        const said = (err as Error).message.split("\n").find((l) => /sandbox|namespace/i.test(l));
        if (policy.sandbox && said) {
            throw new SandboxError(
                "Chromium could not start its sandbox: this host allows neither unprivileged user namespaces nor " +
                    "the setuid helper (under Docker's default seccomp profile, clone(CLONE_NEWUSER) is refused; " +
                    'policy/THREAT_MODEL.md "Chromium\'s sandbox"). Allow user namespaces on the host, or set ' +
                    `${ALLOW_NO_SANDBOX}=1 for local development. Chromium said: ${said.trim()}`,
            );
        }
        throw err;
    }
    try {
        // With --no-sandbox there is nothing to ask Chromium (and no page to spend on asking).
        const status = policy.sandbox ? await readSandboxStatus(browser) : NO_SANDBOX;
        if (policy.sandbox && (status.layer1 === "None" || !status.seccompBpf)) {
            throw new SandboxError(
                `Chromium started without its sandbox (layer 1: ${status.layer1}, seccomp-bpf: ` +
                    `${status.seccompBpf ? "on" : "off"}); the runner refuses to use it. Allow user namespaces on ` +
                    `the host, or set ${ALLOW_NO_SANDBOX}=1 for local development`,
            );
        }
        report(policy, status);
        return browser;
    } catch (err) {
        await browser.close().catch(() => undefined);
        throw err;
    }
}

/**
 * A fresh, isolated context (cookies, storage) with Japanese locale and what a form never needs blocked
 * (blocking.ts); `blocking: false` only for the test and bench that compare outcomes with and without it.
 */
export async function newFormContext(browser: Browser, blocking = true): Promise<BrowserContext> {
    const context = await browser.newContext({
        locale: "ja-JP",
        timezoneId: "Asia/Tokyo",
        viewport: { width: 1280, height: 900 },
        javaScriptEnabled: true,
        ignoreHTTPSErrors: true,
    });
    if (blocking) {
        await installRequestBlocking(context);
    }
    return context;
}
