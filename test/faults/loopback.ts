/**
 * Loopback pieces of the fault matrix: company contact sites that count the submissions they
 * accept per company and can hold a request (to kill or stop the runner at that moment), and a
 * proxy in front of the PostgREST-style RPC server that makes chosen RPC calls fail as an
 * unreachable database does (the connection is cut before any answer).
 */
import * as http from "http";
import type { AddressInfo } from "net";

/** A hold on one request: the handler waits for `release()` before answering (or never answers). */
export interface Hold {
    readonly company: string;
    readonly kind: "page" | "submit";
    release(): void;
}

export interface CompanySites {
    readonly origin: string;
    /** Accepted submissions per company key. */
    readonly accepted: Map<string, number>;
    url(company: string): string;
    /**
     * Holds the next request of `kind` for `company` (the form page, or the final POST after it was
     * counted as accepted) until the hold is released; resolves when that request arrived.
     */
    holdNext(company: string, kind: "page" | "submit"): Promise<Hold>;
    close(): Promise<void>;
}

const PAGE = (company: string) => `<!DOCTYPE html>
<html lang="ja"><head><meta charset="utf-8"><title>お問い合わせ | ${company}</title></head>
<body><main><h1>お問い合わせ</h1>
<p>製品・サービスに関するご質問は、下記フォームよりお送りください。</p>
<form method="post" action="/c/${company}/submit">
  <div><label for="company">会社名</label><input type="text" id="company" name="company"></div>
  <div><label for="name">お名前<span>必須</span></label><input type="text" id="name" name="name" required></div>
  <div><label for="email">メールアドレス<span>必須</span></label>
    <input type="email" id="email" name="email" required></div>
  <div><label for="tel">電話番号</label><input type="tel" id="tel" name="tel"></div>
  <div><label for="message">お問い合わせ内容<span>必須</span></label>
    <textarea id="message" name="message" required></textarea></div>
  <div><button type="submit">送信する</button></div>
</form></main></body></html>`;

const THANKS = `<!DOCTYPE html><html lang="ja"><head><meta charset="utf-8"><title>送信完了</title></head>
<body><main><h1>送信完了</h1><p>お問い合わせありがとうございました。送信が完了しました。</p></main></body></html>`;

export async function startCompanySites(): Promise<CompanySites> {
    const accepted = new Map<string, number>();
    const holds: Array<{ company: string; kind: "page" | "submit"; arrived: (h: Hold) => void }> = [];
    const sockets = new Set<import("net").Socket>();

    const takeHold = async (company: string, kind: "page" | "submit"): Promise<void> => {
        const i = holds.findIndex((h) => h.company === company && h.kind === kind);
        if (i < 0) return;
        const [h] = holds.splice(i, 1);
        await new Promise<void>((release) => h.arrived({ company, kind, release }));
    };

    const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
        const m = /^\/c\/([A-Za-z0-9_-]+)\/(submit)?$/.exec(req.url ?? "");
        if (!m) {
            res.writeHead(404).end();
            return;
        }
        const company = m[1];
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        if (req.method === "POST" && m[2] === "submit") {
            const fields = new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
            if (fields.get("email") && fields.get("message")) {
                accepted.set(company, (accepted.get(company) ?? 0) + 1);
            }
            await takeHold(company, "submit");
            res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(THANKS);
            return;
        }
        await takeHold(company, "page");
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(PAGE(company));
    };
    const server = http.createServer((req, res) => {
        handle(req, res).catch(() => res.destroy());
    });
    server.on("connection", (s) => {
        sockets.add(s);
        s.on("close", () => sockets.delete(s));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return {
        origin,
        accepted,
        url: (company) => `${origin}/c/${company}/`,
        holdNext: (company, kind) => new Promise<Hold>((arrived) => holds.push({ company, kind, arrived })),
        async close() {
            for (const s of sockets) s.destroy();
            await new Promise<void>((r) => server.close(() => r()));
        },
    };
}

/** Decides, per RPC call, whether the database is "unreachable" for it. */
export type RpcFault = (fn: string, args: Record<string, unknown>) => boolean;

export interface RpcProxy {
    readonly url: string;
    /** The current fault rule (none: every call goes through). */
    fault: RpcFault | null;
    /** Calls cut by the fault rule, as `fn`. */
    readonly cut: string[];
    close(): Promise<void>;
}

/** A proxy to `upstream` (the RPC server) that cuts the connection of calls the fault rule picks. */
export async function startRpcProxy(upstream: string): Promise<RpcProxy> {
    const state: { fault: RpcFault | null } = { fault: null };
    const cut: string[] = [];
    const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        const body = Buffer.concat(chunks);
        const fn = /\/rpc\/([A-Za-z0-9_]+)/.exec(req.url ?? "")?.[1] ?? "";
        let args: Record<string, unknown>;
        try {
            args = body.length ? (JSON.parse(body.toString("utf8")) as Record<string, unknown>) : {};
        } catch {
            args = {};
        }
        if (state.fault?.(fn, args)) {
            cut.push(fn);
            // No answer at all, as when the database host is unreachable mid-call.
            req.socket.destroy();
            return;
        }
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) {
            if (typeof v === "string" && !["host", "connection", "content-length"].includes(k)) headers[k] = v;
        }
        const up = await fetch(`${upstream}${req.url ?? ""}`, {
            method: req.method,
            headers,
            body: req.method === "GET" || req.method === "HEAD" ? undefined : body,
        });
        const text = Buffer.from(await up.arrayBuffer());
        const out: Record<string, string> = {};
        up.headers.forEach((v, k) => {
            if (!["content-length", "content-encoding", "transfer-encoding", "connection"].includes(k)) out[k] = v;
        });
        res.writeHead(up.status, out).end(text);
    };
    const server = http.createServer((req, res) => {
        handle(req, res).catch(() => res.destroy());
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    return {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        get fault() {
            return state.fault;
        },
        set fault(f: RpcFault | null) {
            state.fault = f;
        },
        cut,
        async close() {
            server.closeAllConnections();
            await new Promise<void>((r) => server.close(() => r()));
        },
    };
}
