/**
 * An Apps Script project in Node: the project's .gs files run in a fresh V8 context per execution
 * (as Apps Script starts every run with fresh globals), over stand-ins of the services they call,
 * whose state outlives executions as the real services' does:
 *
 * - SpreadsheetApp: one spreadsheet of named sheets; getDataRange().getValues() returns a copy in
 *   which empty cells are "" (https://developers.google.com/apps-script/reference/spreadsheet/range#getValues()).
 * - PropertiesService: script properties; values are stored as strings.
 * - LockService: one script lock per project; tryLock(ms) waits up to ms and answers false while another
 *   execution holds it (https://developers.google.com/apps-script/reference/lock/lock#tryLock(Integer));
 *   "the lock is automatically released when the script terminates"
 *   (https://developers.google.com/apps-script/reference/lock/lock#releaseLock()), also a killed one.
 * - ScriptApp: time-based triggers created with newTrigger(fn).timeBased().after(ms).create().
 * - UrlFetchApp: fetch and fetchAll over real HTTP, run synchronously in a child process; https URLs
 *   are sent to the loopback API with the original Host header (what the request was signed for).
 *   fetchAll takes an array of URLs or request objects (`url` plus fetch's parameters, each with its own
 *   muteHttpExceptions) and returns "an array of HTTP response data from each input request", in request
 *   order; the requests of one call are in flight together, so the clock moves once per call
 *   (https://developers.google.com/apps-script/reference/url-fetch/url-fetch-app#fetchAll(Object)).
 *   A network failure throws for the whole call (not documented; the transport assumes no answer for
 *   any request then), an HTTP error returns when muteHttpExceptions is set and throws otherwise
 *   (https://developers.google.com/apps-script/reference/url-fetch/url-fetch-app#fetch(String,Object)), and
 *   a URL over 2,082 characters is refused ("The URL can have up to 2,082 characters", same page).
 * - Utilities: digests, HMAC and blobs as signed Java bytes, formatDate, getUuid, sleep.
 * - A simulated clock: Date and Date.now read it; each request and each sleep moves it forward, so
 *   time budgets are tested without waiting.
 * - The 6-minute limit (https://developers.google.com/apps-script/guides/services/quotas, "Script runtime"):
 *   the first service call after it, or the one `kill` picks, throws "Exceeded maximum execution time" and
 *   every later call of that execution throws too (Apps Script stops the script there; a `finally` of the
 *   script's own cannot save anything). A fetch that is killed has reached the server; its answer is lost.
 */
import { execFileSync } from "child_process";
import { createHash, createHmac, randomUUID } from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as vm from "vm";

const ROOT = path.resolve(__dirname, "..", "..", "..");
/** Apps Script's limit per execution. */
export const EXECUTION_LIMIT_MS = 6 * 60 * 1000;
/** UrlFetchApp's longest URL (url-fetch-app#fetch(String)). */
const URL_MAX_CHARS = 2082;
/** The transport and the package, in the order clasp would push them. */
export const GAS_FILES = [
    "gas/AWSBatchClient.gs",
    "gas/form-sender/FormSenderAwsSettings.gs",
    "gas/form-sender/FormSenderAwsSheet.gs",
    "gas/form-sender/FormSenderAwsTasks.gs",
];

type Cell = string | number | boolean | Date;

const toSigned = (buf: Buffer) => [...buf].map((b) => (b > 127 ? b - 256 : b));
const toBuffer = (v: string | number[]) =>
    typeof v === "string" ? Buffer.from(v, "utf8") : Buffer.from(v.map((b) => b & 0xff));

/** Sends requests with node:http and prints one JSON answer per request, in order. */
const FETCH_SCRIPT = `
const http = require("http");
const reqs = JSON.parse(process.argv[1]);
Promise.all(reqs.map((r) => new Promise((resolve) => {
  const u = new URL(r.url);
  const req = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method: r.method,
      headers: r.headers }, (res) => {
    let body = ""; res.setEncoding("utf8"); res.on("data", (c) => (body += c));
    res.on("end", () => resolve({ status: res.statusCode, body }));
  });
  req.on("error", (e) => resolve({ error: String(e) }));
  if (r.payload !== undefined) req.write(Buffer.from(r.payload, "base64"));
  req.end();
}))).then((out) => process.stdout.write(JSON.stringify(out)));
`;

export interface FetchOptions {
    method?: string;
    headers?: Record<string, string>;
    /** A string goes out as UTF-8, a byte array as it is (url-fetch-app#fetch(String,Object)). */
    payload?: string | number[];
    contentType?: string;
    muteHttpExceptions?: boolean;
    followRedirects?: boolean;
}

export interface Trigger {
    readonly id: string;
    readonly handler: string;
    readonly afterMs: number;
    readonly createdAt: number;
}

/** Everything that outlives one execution. */
export class AppsScriptProject {
    now: number;
    /** Simulated milliseconds each request takes. */
    requestMs = 2000;
    readonly properties = new Map<string, string>();
    readonly sheets = new Map<string, Cell[][]>();
    triggers: Trigger[] = [];
    lockHolder: number | null = null;
    /** Every request: method and URL as the script asked for it. */
    readonly fetched: { method: string; url: string }[] = [];
    /** Every UrlFetchApp call: which method, and how many requests it carried. */
    readonly fetchCalls: { fn: "fetch" | "fetchAll"; requests: number }[] = [];
    /** Every Utilities.sleep, in ms. */
    readonly sleeps: number[] = [];
    /** Service calls that killed their execution (the limit, or `kill`). */
    readonly killed: string[] = [];
    /** Picks a service call (`UrlFetchApp.fetchAll`, `Range.setValue`, …) at which its execution is killed. */
    kill: ((call: string) => boolean) | null = null;
    readonly logs: string[] = [];
    private executions = 0;
    private triggerIds = 0;

    /** `route` maps the script's https URL to the loopback one. */
    constructor(
        readonly route: (url: string) => string,
        start = Date.UTC(2026, 10, 27, 0, 0, 0),
    ) {
        this.now = start;
    }

    /** A new execution: fresh globals, the .gs files loaded, the services bound to this project. */
    execution(): Record<string, (...args: unknown[]) => unknown> {
        const id = ++this.executions;
        // eslint-disable-next-line @typescript-eslint/no-this-alias -- the Date subclass needs the project; its own `this` is a date
        const project = this;
        const RealDate = Date;
        class ScriptDate extends RealDate {
            constructor(...args: [] | [string | number | Date] | [number, number, ...number[]]) {
                if (args.length === 0) super(project.now);
                else if (args.length === 1) super(args[0]);
                else super(...(args as [number, number, number, number, number, number, number]));
            }
            static now() {
                return project.now;
            }
        }
        const started = project.now;
        let dead = false;
        /** Throws as Apps Script ends an execution: past the limit, at the call `kill` picks, and after. */
        const alive = (call: string) => {
            if (dead) throw new Error("Exceeded maximum execution time");
            if (project.now - started > EXECUTION_LIMIT_MS || project.kill?.(call)) {
                dead = true;
                project.killed.push(call);
                if (project.lockHolder === id) project.lockHolder = null;
                throw new Error("Exceeded maximum execution time");
            }
        };
        const fetchAll = (given: (string | ({ url: string } & FetchOptions))[], fn: "fetch" | "fetchAll") => {
            alive(`UrlFetchApp.${fn}:before`);
            const requests = given.map((r) => (typeof r === "string" ? { url: r } : r));
            for (const r of requests) {
                if (r.url.length > URL_MAX_CHARS) throw new Error("Limit Exceeded: URLFetch URL Length.");
            }
            this.fetchCalls.push({ fn, requests: requests.length });
            for (const r of requests) this.fetched.push({ method: (r.method ?? "get").toUpperCase(), url: r.url });
            this.now += this.requestMs;
            const wire = requests.map((r) => {
                const original = new URL(r.url);
                const headers: Record<string, string> = { ...(r.headers ?? {}), host: original.host };
                if (r.payload !== undefined)
                    headers["content-type"] = r.contentType ?? "application/x-www-form-urlencoded";
                return {
                    url: this.route(r.url),
                    method: (r.method ?? "get").toUpperCase(),
                    headers,
                    payload: r.payload === undefined ? undefined : toBuffer(r.payload).toString("base64"),
                };
            });
            const out = JSON.parse(
                execFileSync(process.execPath, ["-e", FETCH_SCRIPT, JSON.stringify(wire)], { encoding: "utf8" }),
            ) as { status?: number; body?: string; error?: string }[];
            // Killed while the requests were in flight: they reached the server, the answers are lost.
            alive(`UrlFetchApp.${fn}`);
            return out.map((o, i) => {
                if (o.error) throw new Error(`Address unavailable: ${requests[i].url}`);
                if (o.status! >= 400 && !requests[i].muteHttpExceptions)
                    throw new Error(`Request failed for ${requests[i].url} returned code ${o.status}`);
                return { getResponseCode: () => o.status!, getContentText: () => o.body! };
            });
        };
        const lock = {
            tryLock: (ms: number) => {
                alive("Lock.tryLock");
                if (project.lockHolder === null || project.lockHolder === id) {
                    project.lockHolder = id;
                    return true;
                }
                project.now += ms;
                return false;
            },
            waitLock: (ms: number) => {
                if (!lock.tryLock(ms))
                    throw new Error("Lock timeout: another process was holding the lock for too long.");
            },
            hasLock: () => project.lockHolder === id,
            releaseLock: () => {
                alive("Lock.releaseLock");
                if (project.lockHolder === id) project.lockHolder = null;
            },
        };
        const range = (sheet: Cell[][], row: number, col: number) => ({
            getValue: () => sheet[row - 1]?.[col - 1] ?? "",
            setValue: (v: Cell) => {
                alive("Range.setValue");
                while (sheet.length < row) sheet.push([]);
                const r = sheet[row - 1];
                while (r.length < col) r.push("");
                r[col - 1] = v;
            },
        });
        const sheetApi = (name: string) => {
            const sheet = project.sheets.get(name)!;
            return {
                getName: () => name,
                getDataRange: () => ({
                    getValues: () => {
                        alive("Range.getValues");
                        const width = Math.max(0, ...sheet.map((r) => r.length));
                        return sheet.map((r) => Array.from({ length: width }, (_, c) => r[c] ?? ""));
                    },
                }),
                getRange: (row: number, col: number) => range(sheet, row, col),
            };
        };
        const context = vm.createContext({
            Date: ScriptDate,
            console: { log: (...a: unknown[]) => project.logs.push(a.map(String).join(" ")) },
            Logger: { log: (...a: unknown[]) => project.logs.push(a.map(String).join(" ")) },
            Utilities: {
                DigestAlgorithm: { SHA_256: "SHA_256" },
                Charset: { UTF_8: "UTF_8" },
                computeDigest: (alg: string, value: string | number[]) => {
                    if (alg !== "SHA_256") throw new Error(`unsupported digest ${alg}`);
                    return toSigned(createHash("sha256").update(toBuffer(value)).digest());
                },
                computeHmacSha256Signature: (value: string | number[], key: string | number[]) =>
                    toSigned(createHmac("sha256", toBuffer(key)).update(toBuffer(value)).digest()),
                newBlob: (s: string) => ({ getBytes: () => toSigned(Buffer.from(s, "utf8")) }),
                sleep: (ms: number) => {
                    project.sleeps.push(ms);
                    project.now += ms;
                    alive("Utilities.sleep");
                },
                getUuid: () => randomUUID(),
                formatDate: (d: Date, tz: string, pattern: string) => formatDate(d, tz, pattern),
            },
            UrlFetchApp: {
                fetch: (url: string, options: FetchOptions = {}) => fetchAll([{ ...options, url }], "fetch")[0],
                fetchAll: (requests: (string | ({ url: string } & FetchOptions))[]) => fetchAll(requests, "fetchAll"),
            },
            PropertiesService: {
                getScriptProperties: () => ({
                    getProperty: (k: string) => {
                        alive("Properties.getProperty");
                        return project.properties.get(k) ?? null;
                    },
                    setProperty: (k: string, v: unknown) => {
                        alive("Properties.setProperty");
                        project.properties.set(k, String(v));
                    },
                    deleteProperty: (k: string) => {
                        alive("Properties.deleteProperty");
                        project.properties.delete(k);
                    },
                    getProperties: () => Object.fromEntries(project.properties),
                    setProperties: (o: Record<string, unknown>) => {
                        alive("Properties.setProperties");
                        for (const [k, v] of Object.entries(o)) project.properties.set(k, String(v));
                    },
                }),
            },
            LockService: { getScriptLock: () => lock },
            SpreadsheetApp: {
                getActiveSpreadsheet: () => ({
                    getSheetByName: (name: string) => (project.sheets.has(name) ? sheetApi(name) : null),
                }),
                flush: () => undefined,
            },
            ScriptApp: {
                newTrigger: (handler: string) => (
                    alive("ScriptApp.newTrigger"),
                    {
                        timeBased: () => ({
                            after: (ms: number) => ({
                                create: () => {
                                    const t = {
                                        id: `trigger-${++project.triggerIds}`,
                                        handler,
                                        afterMs: ms,
                                        createdAt: project.now,
                                    };
                                    project.triggers.push(t);
                                    return { getHandlerFunction: () => handler, getUniqueId: () => t.id };
                                },
                            }),
                        }),
                    }
                ),
                getProjectTriggers: () =>
                    project.triggers.map((t) => ({ getHandlerFunction: () => t.handler, getUniqueId: () => t.id })),
                deleteTrigger: (t: { getUniqueId: () => string }) => {
                    project.triggers = project.triggers.filter((x) => x.id !== t.getUniqueId());
                },
            },
        });
        for (const f of GAS_FILES)
            vm.runInContext(fs.readFileSync(path.join(ROOT, f), "utf8"), context, { filename: f });
        return context;
    }

    /** Fires the earliest trigger that is due (moving the clock to it) in a new execution. */
    fireTrigger(): unknown {
        const t = [...this.triggers].sort((a, b) => a.createdAt + a.afterMs - (b.createdAt + b.afterMs))[0];
        if (!t) throw new Error("no trigger to fire");
        this.now = Math.max(this.now, t.createdAt + t.afterMs);
        return this.execution()[t.handler]({ triggerUid: t.id });
    }

    /** The sheet's rows as objects keyed by the header row. */
    rows(name = "targeting"): Record<string, Cell>[] {
        const [header, ...rest] = this.sheets.get(name)!;
        return rest.map((r) => Object.fromEntries(header.map((h, i) => [String(h), r[i] ?? ""])));
    }
}

/** Apps Script's formatDate for the tokens the package uses (yyyy MM dd HH mm ss). */
function formatDate(d: Date, tz: string, pattern: string): string {
    const parts = Object.fromEntries(
        new Intl.DateTimeFormat("en-GB", {
            timeZone: tz,
            year: "numeric",
            month: "2-digit",
            day: "2-digit",
            hour: "2-digit",
            minute: "2-digit",
            second: "2-digit",
            hourCycle: "h23",
        })
            .formatToParts(d)
            .map((p) => [p.type, p.value]),
    );
    return pattern.replace(
        /yyyy|MM|dd|HH|mm|ss/g,
        (t) =>
            ({ yyyy: parts.year, MM: parts.month, dd: parts.day, HH: parts.hour, mm: parts.minute, ss: parts.second })[
                t
            ]!,
    );
}
