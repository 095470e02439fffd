/**
 * Serves the contact-form fixture corpus on loopback and records what each form sent.
 *
 * Layout: test/runner/fixtures/<fixture>/ holds the pages (index.html first), an optional
 * server.json (language, thanks page, server-side validation rules) and expected.json (what
 * the runner must report and the exact fields the site must receive).
 *
 * Endpoints per fixture: GET any file; POST confirm → a generic confirmation page that posts
 * on to submit; POST submit → recorded, then a thanks page (or the form again with errors);
 * POST api → recorded, JSON answer for script-driven forms (on a broken rule: 400 with `errors` and
 * `fieldErrors`, the message per field name); anything else is recorded too, so
 * a test can prove a search or newsletter form was left alone.
 */
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as path from "path";
import type { FillStatus } from "../../containers/runner/src/types";

export const FIXTURE_ROOT = path.join(__dirname, "fixtures");

export interface Submission {
    readonly fixture: string;
    /** Last path segment: "submit", "api", "confirm", "search", "newsletter", … */
    readonly endpoint: string;
    readonly method: string;
    readonly accepted: boolean;
    readonly fields: Record<string, string | string[]>;
    readonly host: string;
}

export interface ServerRule {
    readonly field: string;
    readonly pattern: string;
    readonly message: string;
}

export interface ServerConfig {
    readonly lang?: "ja" | "en";
    /** A file of the fixture to redirect to (303) after an accepted submit. */
    readonly thanks?: string;
    readonly rules?: readonly ServerRule[];
    /** The page re-rendered with errors at `<!--ERRORS-->` when a rule fails. */
    readonly errorPage?: string;
    /** Text the JSON endpoint answers with on success. */
    readonly apiMessage?: string;
    /** Delay before every answer, in ms: a slow site keeps a form in flight. */
    readonly delayMs?: number;
    /** Files served only after a delay (ms): a script that fetches its notice or form definition late. */
    readonly slowFiles?: Readonly<Record<string, number>>;
    /**
     * Further endpoints (last path segment) that take a submission the way a form product's own
     * endpoint does: answer with JSON, with a file of the fixture, or with a 303 to a file (or to
     * the URL a posted field names, as Salesforce Web-to-Lead's `retURL`).
     */
    readonly accept?: Readonly<Record<string, AcceptEndpoint>>;
}

export interface AcceptEndpoint {
    readonly json?: unknown;
    readonly file?: string;
    readonly redirect?: string;
    readonly redirectField?: string;
}

export interface FixtureServer {
    /** http://127.0.0.1:<port> */
    readonly origin: string;
    /**
     * Extra origins on distinct loopback addresses (127.0.0.10, .11, …), one per `sites`
     * option: to Chromium each is a different site, as real recipients are.
     */
    readonly siteOrigins: readonly string[];
    /** http://127.0.0.2:<port2>: a second origin for cross-origin iframes. */
    readonly altOrigin: string;
    readonly submissions: Submission[];
    /** Requests that reached each path, for "one page load per form" style checks. */
    readonly hits: Map<string, number>;
    url(fixture: string, file?: string): string;
    sent(fixture: string): Submission[];
    close(): Promise<void>;
}

function escapeHtml(s: string): string {
    return s.replace(
        /[&<>"']/g,
        (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string,
    );
}

/** A JSON body's scalar field as form text; null is empty, a nested object stays JSON. */
function jsonFieldText(v: unknown): string {
    if (v === null || v === undefined) return "";
    if (typeof v === "string") return v;
    if (typeof v === "number" || typeof v === "boolean") return String(v);
    return JSON.stringify(v);
}

function addField(out: Record<string, string | string[]>, key: string, value: string): void {
    const prev = out[key];
    if (prev === undefined) {
        out[key] = value;
    } else if (Array.isArray(prev)) {
        prev.push(value);
    } else {
        out[key] = [prev, value];
    }
}

/** Parses urlencoded, multipart and JSON bodies into one field map (repeated keys → arrays). */
export function parseBody(contentType: string, body: Buffer): Record<string, string | string[]> {
    const out: Record<string, string | string[]> = {};
    const ct = contentType.toLowerCase();
    if (ct.includes("application/json")) {
        const parsed = JSON.parse(body.toString("utf8") || "{}") as Record<string, unknown>;
        for (const [k, v] of Object.entries(parsed)) {
            if (Array.isArray(v) && v.every((x) => typeof x === "object" && x !== null && "name" in x)) {
                // HubSpot's Forms API posts { fields: [{ name, value }] }: one form field each.
                for (const x of v as Array<{ name: unknown; value: unknown }>) {
                    addField(out, String(x.name), jsonFieldText(x.value));
                }
            } else if (Array.isArray(v)) {
                v.forEach((x) => addField(out, k, String(x)));
            } else {
                addField(out, k, jsonFieldText(v));
            }
        }
        return out;
    }
    if (ct.includes("multipart/form-data")) {
        const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(contentType);
        if (!boundary) {
            throw new Error(`multipart body without boundary: ${contentType}`);
        }
        const text = body.toString("utf8");
        for (const part of text.split(`--${boundary[1] ?? boundary[2]}`)) {
            const sep = part.indexOf("\r\n\r\n");
            if (sep < 0) {
                continue;
            }
            const head = part.slice(0, sep);
            const name = /name="([^"]*)"/.exec(head);
            if (!name || /filename="/.test(head)) {
                continue;
            }
            addField(out, name[1], part.slice(sep + 4).replace(/\r\n$/, ""));
        }
        return out;
    }
    for (const [k, v] of new URLSearchParams(body.toString("utf8"))) {
        addField(out, k, v);
    }
    return out;
}

/** A fixture's server.json ({} when it has none). */
export function readServerConfig(fixture: string): ServerConfig {
    const file = path.join(FIXTURE_ROOT, fixture, "server.json");
    return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as ServerConfig) : {};
}

function confirmPage(fixture: string, fields: Record<string, string | string[]>, lang: "ja" | "en"): string {
    const rows = Object.entries(fields)
        .flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => [k, x] as const))
        .map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v).replace(/\n/g, "<br>")}</td></tr>`)
        .join("\n");
    const hidden = Object.entries(fields)
        .flatMap(([k, v]) =>
            (Array.isArray(v) ? v : [v]).map(
                (x) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(x)}">`,
            ),
        )
        .join("\n");
    const t =
        lang === "en"
            ? { title: "Confirm your message", lead: "Please confirm the details below.", back: "Back", send: "Send" }
            : {
                  title: "入力内容の確認",
                  lead: "以下の内容で送信します。よろしければ「送信する」ボタンを押してください。",
                  back: "戻る",
                  send: "送信する",
              };
    return `<!DOCTYPE html><html lang="${lang}"><head><meta charset="utf-8"><title>${t.title}</title><link rel="stylesheet" href="/_shared/site.css"></head>
<body><main class="container"><h1>${t.title}</h1><p>${t.lead}</p>
<form method="post" action="/${fixture}/submit"><table class="confirm">${rows}</table>${hidden}
<p class="buttons"><button type="button" onclick="history.back()">${t.back}</button> <button type="submit" name="send" value="1">${t.send}</button></p></form></main></body></html>`;
}

function thanksPage(lang: "ja" | "en"): string {
    return lang === "en"
        ? `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Thank you</title></head><body><main><h1>Thank you</h1><p>Your message has been sent. We will get back to you shortly.</p><p><a href="/">Back to top</a></p></main></body></html>`
        : `<!DOCTYPE html><html lang="ja"><head><meta charset="utf-8"><title>送信完了</title></head><body><main><h1>送信完了</h1><p>お問い合わせありがとうございました。送信が完了しました。</p><p>内容を確認のうえ、担当者よりご連絡いたします。</p><p><a href="/">トップページへ戻る</a></p></main></body></html>`;
}

/** The messages of the rules a submission breaks, by field. */
function brokenRules(config: ServerConfig, fields: Record<string, string | string[]>): Record<string, string> {
    const errors: Record<string, string> = {};
    for (const rule of config.rules ?? []) {
        const v = fields[rule.field];
        const value = Array.isArray(v) ? v.join(",") : (v ?? "");
        if (!new RegExp(rule.pattern, "u").test(value)) {
            errors[rule.field] = rule.message;
        }
    }
    return errors;
}

function checkRules(config: ServerConfig, fields: Record<string, string | string[]>): string[] {
    return Object.values(brokenRules(config, fields));
}

async function listenOn(server: http.Server, host: string): Promise<number> {
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, host, () => resolve());
    });
    return (server.address() as net.AddressInfo).port;
}

export async function startFixtureServer(opts: { sites?: number } = {}): Promise<FixtureServer> {
    const submissions: Submission[] = [];
    const hits = new Map<string, number>();
    let origin = "";
    let altOrigin = "";
    const delayed = new WeakSet<http.ServerResponse>();
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
            try {
                handle(req, Buffer.concat(chunks), res);
            } catch (err) {
                res.writeHead(500, { "content-type": "text/plain" });
                res.end(String(err));
            }
        });
    };
    const handle = (req: http.IncomingMessage, body: Buffer, res: http.ServerResponse) => {
        const url = new URL(req.url ?? "/", "http://fixture.invalid");
        const segments = url.pathname
            .split("/")
            .filter((s) => s !== "")
            .map(decodeURIComponent);
        hits.set(url.pathname, (hits.get(url.pathname) ?? 0) + 1);
        const html = (status: number, text: string) => {
            res.writeHead(status, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
            res.end(text);
        };
        if (segments.length === 0) {
            return html(200, `<!DOCTYPE html><html><body><h1>fixtures</h1></body></html>`);
        }
        const fixture = segments[0];
        const dir = path.join(FIXTURE_ROOT, fixture);
        if (!/^[\w.-]+$/.test(fixture) || !fs.existsSync(dir)) {
            return html(404, "<h1>404 Not Found</h1>");
        }
        const config = readServerConfig(fixture);
        if (config.delayMs && !delayed.has(res)) {
            delayed.add(res);
            setTimeout(() => handle(req, body, res), config.delayMs);
            return;
        }
        const lang = config.lang ?? "ja";
        const rest = segments.slice(1).join("/");
        const method = req.method ?? "GET";
        const isFile = method === "GET" && (rest === "" || fs.existsSync(path.join(dir, rest)));
        const slow = config.slowFiles?.[rest];
        if (isFile && slow && !delayed.has(res)) {
            delayed.add(res);
            setTimeout(() => handle(req, body, res), slow);
            return;
        }
        if (isFile) {
            const file = path.join(dir, rest === "" || rest.endsWith("/") ? path.join(rest, "index.html") : rest);
            const resolved = fs.statSync(file).isDirectory() ? path.join(file, "index.html") : file;
            if (!resolved.startsWith(dir)) {
                return html(403, "forbidden");
            }
            const ext = path.extname(resolved);
            const type =
                ext === ".css"
                    ? "text/css"
                    : ext === ".js"
                      ? "application/javascript"
                      : ext === ".png"
                        ? "image/png"
                        : "text/html; charset=utf-8";
            let content: string | Buffer = fs.readFileSync(resolved);
            if (type.startsWith("text/html") || type === "application/javascript") {
                content = content
                    .toString("utf8")
                    .replace(/\{\{ALT_ORIGIN\}\}/g, altOrigin)
                    .replace(/\{\{ORIGIN\}\}/g, origin);
            }
            res.writeHead(200, { "content-type": type, "cache-control": "no-store" });
            return res.end(content);
        }
        const endpoint = segments[segments.length - 1];
        const fields =
            method === "GET"
                ? parseBody("", Buffer.from(url.search.slice(1)))
                : parseBody(String(req.headers["content-type"] ?? ""), body);
        const record = (accepted: boolean) =>
            submissions.push({ fixture, endpoint, method, accepted, fields, host: String(req.headers.host ?? "") });
        if (endpoint === "confirm" && method === "POST") {
            record(true);
            return html(200, confirmPage(fixture, fields, lang));
        }
        if (endpoint === "submit" && method === "POST") {
            const errors = checkRules(config, fields);
            record(errors.length === 0);
            if (errors.length > 0) {
                const page = fs.readFileSync(path.join(dir, config.errorPage ?? "index.html"), "utf8");
                const list = `<ul class="errors">${errors.map((e) => `<li class="error">${escapeHtml(e)}</li>`).join("")}</ul>`;
                return html(
                    200,
                    page
                        .replace("<!--ERRORS-->", list)
                        .replace(/\{\{ALT_ORIGIN\}\}/g, altOrigin)
                        .replace(/\{\{ORIGIN\}\}/g, origin),
                );
            }
            if (config.thanks) {
                res.writeHead(303, { location: `/${fixture}/${config.thanks}` });
                return res.end();
            }
            return html(200, thanksPage(lang));
        }
        if (endpoint === "api" && method === "POST") {
            const errors = checkRules(config, fields);
            record(errors.length === 0);
            res.writeHead(errors.length === 0 ? 200 : 400, { "content-type": "application/json" });
            return res.end(
                JSON.stringify(
                    errors.length === 0
                        ? { ok: true, message: config.apiMessage ?? "送信が完了しました。" }
                        : { ok: false, errors, fieldErrors: brokenRules(config, fields) },
                ),
            );
        }
        const product = config.accept?.[endpoint];
        if (product && method === "POST") {
            record(true);
            const target = product.redirectField ? fields[product.redirectField] : product.redirect;
            if (typeof target === "string" && target !== "") {
                res.writeHead(303, { location: product.redirectField ? target : `/${fixture}/${target}` });
                return res.end();
            }
            if (product.file) {
                const page = fs.readFileSync(path.join(dir, product.file), "utf8");
                return html(200, page.replace(/\{\{ALT_ORIGIN\}\}/g, altOrigin).replace(/\{\{ORIGIN\}\}/g, origin));
            }
            res.writeHead(200, { "content-type": "application/json" });
            return res.end(JSON.stringify(product.json ?? { ok: true }));
        }
        record(false);
        return html(404, "<h1>404 Not Found</h1>");
    };
    const main = http.createServer(handler);
    const alt = http.createServer(handler);
    const port = await listenOn(main, "127.0.0.1");
    const altPort = await listenOn(alt, "127.0.0.2");
    origin = `http://127.0.0.1:${port}`;
    altOrigin = `http://127.0.0.2:${altPort}`;
    const siteServers: http.Server[] = [];
    const siteOrigins: string[] = [];
    for (let i = 0; i < (opts.sites ?? 0); i++) {
        const srv = http.createServer(handler);
        const host = `127.0.0.${10 + i}`;
        siteOrigins.push(`http://${host}:${await listenOn(srv, host)}`);
        siteServers.push(srv);
    }
    // The _shared directory (site stylesheet) is a fixture-like folder without pages of its own.
    return {
        origin,
        altOrigin,
        siteOrigins,
        submissions,
        hits,
        url: (fixture, file = "") => `${origin}/${fixture}/${file}`,
        // Every accepted request but a confirmation step delivered the message to the site.
        sent: (fixture) => submissions.filter((s) => s.fixture === fixture && s.endpoint !== "confirm" && s.accepted),
        close: async () => {
            const all = [main, alt, ...siteServers];
            all.forEach((srv) => srv.closeAllConnections());
            await Promise.all(all.map((srv) => new Promise((r) => srv.close(r))));
        },
    };
}

/** Every fixture directory (those with an expected.json). */
export function listFixtures(): string[] {
    return fs
        .readdirSync(FIXTURE_ROOT)
        .filter((d) => fs.existsSync(path.join(FIXTURE_ROOT, d, "expected.json")))
        .sort();
}

export interface FixtureExpectation {
    readonly title: string;
    readonly start?: string;
    readonly status: FillStatus;
    readonly submitted: boolean;
    /** Exact fields of the accepted submission; "*" accepts any non-empty value. */
    readonly fields?: Record<string, string | string[]>;
    /** A substring the result's detail must contain. */
    readonly detail?: string;
    /**
     * Submissions the site refused (a broken server rule) before the accepted one: a fixture that shows the
     * runner correcting what a validation message names. Checked when given.
     */
    readonly rejected?: number;
    /** Requests that must have reached the site besides the accepted submit (e.g. "confirm"). */
    readonly endpoints?: readonly string[];
}

export function readExpectation(fixture: string): FixtureExpectation {
    return JSON.parse(fs.readFileSync(path.join(FIXTURE_ROOT, fixture, "expected.json"), "utf8")) as FixtureExpectation;
}

/** "$body" and "$body:N" in expected.json stand for the configured message (cut to N chars). */
export function expandExpected(value: string, body: string): string {
    const m = /^\$body(?::(\d+))?$/.exec(value);
    if (!m) {
        return value;
    }
    return m[1] ? body.slice(0, Number(m[1])) : body;
}

const crlf = (v: string | string[]) =>
    Array.isArray(v) ? v.map((x) => x.replace(/\r\n/g, "\n")) : v.replace(/\r\n/g, "\n");

export interface FixtureScore {
    readonly fixture: string;
    readonly expected: FillStatus;
    readonly actual: FillStatus;
    readonly statusOk: boolean;
    /** Submissions the site accepted (a confirmation step not counted). */
    readonly received: number;
    /** The site received a message it must not have (a refusal, a look-alike form) or got it twice. */
    readonly wrongful: boolean;
    /** Expected fields the accepted submission carried with the expected value, of `fieldsExpected`. */
    readonly fieldsCorrect: number;
    readonly fieldsExpected: number;
}

/**
 * Judges one run of a fixture: its result against expected.json and what the site received.
 * `accepted` are the submissions the site took; `requests` (default: those) every request that
 * carried form data, so a newsletter sign-up the site answered with 404 still counts as received.
 */
export function scoreFixture(
    fixture: string,
    actual: FillStatus,
    accepted: readonly Submission[],
    body: string,
    requests: readonly Submission[] = accepted,
): FixtureScore {
    const expected = readExpectation(fixture);
    const want = Object.entries(expected.fields ?? {});
    const got = accepted[0]?.fields ?? {};
    const fieldsCorrect = want.filter(([k, v]) => {
        const value = got[k];
        if (v === "*") return value !== undefined && value !== "";
        const w = Array.isArray(v) ? v.map((x) => expandExpected(x, body)) : expandExpected(v, body);
        return JSON.stringify(crlf(value ?? "")) === JSON.stringify(w);
    }).length;
    return {
        fixture,
        expected: expected.status,
        actual,
        statusOk: actual === expected.status,
        received:
            expected.status === "sent" ? accepted.length : requests.filter((r) => r.endpoint !== "confirm").length,
        wrongful:
            expected.status === "sent"
                ? accepted.length > 1
                : requests.some((r) => r.endpoint !== "confirm" && !(expected.endpoints ?? []).includes(r.endpoint)),
        fieldsCorrect: expected.status === "sent" ? fieldsCorrect : 0,
        fieldsExpected: expected.status === "sent" ? want.length : 0,
    };
}
