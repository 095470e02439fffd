/**
 * Realistic-site mode of the fixture corpus (issue 17): a proxy in front of each fixture site that gives every page
 * what a real company site has and the corpus pages lack — server time, a bandwidth cap and page weight.
 * Not a benchmark of its own (no `bench` export): scripts/bench/density.ts uses it.
 *
 * Numbers and where they come from:
 * - Page weight: HTTP Archive Web Almanac 2024, Page Weight chapter (almanac.httparchive.org/en/2024/page-weight),
 *   median desktop home page: 2,652 KB in 71 requests — images 1,054 KB, JavaScript 613 KB, fonts 131 KB, CSS 78 KB,
 *   HTML 18 KB. Each document here gets: real production JavaScript bundles (lodash, protobufjs, jsonata, from
 *   node_modules; ~230 KB) and a site script that uses them (a catalogue, a news list, a carousel timer, a cookie
 *   banner), two stylesheets (~80 KB together), one web font (Liberation Sans, ~137 KB, the median's weight), 12
 *   photos (PNG, ~85 KB each, ~1 MB), and an analytics library loaded from www.google-analytics.com as sites do
 *   (served here by the bench's route, see `analyticsRoute`) whose timer keeps running. That is ~1.45 MB in ~20
 *   requests: lighter than the median page in JavaScript, as heavy in images and fonts.
 * - Server time: every answer waits for a delay drawn per response. Documents and form posts: log-normal with median
 *   600 ms and σ 0.6, clipped to 200–2,000 ms (the range issue 17 names; web.dev/articles/ttfb calls ≤ 800 ms good
 *   and > 1,800 ms poor). Static files: log-normal with median 170 ms (one round trip us-east-1 → Tokyo, where the
 *   recipients' servers are; AWS Network Manager's inter-region latency is ~150–180 ms), clipped to 100–600 ms.
 * - Bandwidth: 10 Mbit/s per site, shared by all its connections (a shared-hosting uplink, one TCP flow family over
 *   a 170 ms round trip); an assumption, stated here, not a measurement.
 * The delays are drawn from a seeded generator, so two runs with the same seed see the same server.
 */
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import * as zlib from "zlib";
import type { BrowserContext } from "playwright-core";

export interface RealisticOptions {
    /** Seed of the delay generator. @default 17 */
    readonly seed?: number;
    /** Per-site bandwidth in bits per second. @default 10_000_000 */
    readonly bitsPerSecond?: number;
    /** Wait the server time before answering; false keeps only the weight (tests). @default true */
    readonly serverTime?: boolean;
}

export interface RealisticSites {
    /** One proxy origin per upstream site origin, in the same order. */
    readonly origins: readonly string[];
    /** Per site: milliseconds during which at least one request to it was outstanding (network wait of its form). */
    readonly waitMs: readonly number[];
    /** Bytes served per site. */
    readonly bytes: readonly number[];
    /** Requests served per site. */
    readonly requests: readonly number[];
    /** Clears the per-site counters (between runs). */
    reset(): void;
    /** Bytes of each asset kind in one page, for the report. */
    readonly weight: Readonly<Record<string, number>>;
    close(): Promise<void>;
}

/** mulberry32: small, seeded, good enough for delays. */
function rng(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

function logNormal(random: () => number, median: number, sigma: number, min: number, max: number): number {
    const u = Math.max(random(), 1e-12);
    const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
    return Math.min(max, Math.max(min, median * Math.exp(sigma * z)));
}

/** A PNG of w×h noise over a gradient: incompressible, so its bytes are its weight, and Chromium must decode it. */
function png(w: number, h: number, random: () => number): Buffer {
    const raw = Buffer.alloc((w * 3 + 1) * h);
    for (let y = 0; y < h; y++) {
        const row = y * (w * 3 + 1);
        raw[row] = 0;
        for (let x = 0; x < w * 3; x++) raw[row + 1 + x] = ((x * 255) / (w * 3) + random() * 96) & 0xff;
    }
    const crcTable = Array.from({ length: 256 }, (_, n) => {
        let c = n;
        for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
        return c >>> 0;
    });
    const crc = (buf: Buffer) => {
        let c = 0xffffffff;
        for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
        return (c ^ 0xffffffff) >>> 0;
    };
    const chunk = (type: string, data: Buffer) => {
        const len = Buffer.alloc(4);
        len.writeUInt32BE(data.length);
        const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
        const sum = Buffer.alloc(4);
        sum.writeUInt32BE(crc(body));
        return Buffer.concat([len, body, sum]);
    };
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(w, 0);
    ihdr.writeUInt32BE(h, 4);
    ihdr[8] = 8; // bit depth
    ihdr[9] = 2; // RGB
    return Buffer.concat([
        Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
        chunk("IHDR", ihdr),
        chunk("IDAT", zlib.deflateSync(raw)),
        chunk("IEND", Buffer.alloc(0)),
    ]);
}

const ROOT = path.join(__dirname, "..", "..", "..");

function firstExisting(paths: string[]): string | undefined {
    return paths.find((p) => fs.existsSync(p));
}

/** Vendor bundles: real minified production builds the repository already installs. */
function vendorBundle(): Buffer {
    const files = [
        "node_modules/lodash/lodash.min.js",
        "node_modules/protobufjs/dist/protobuf.min.js",
        "node_modules/jsonata/jsonata.min.js",
    ].map((f) => path.join(ROOT, f));
    const missing = files.filter((f) => !fs.existsSync(f));
    if (missing.length > 0) {
        throw new Error(`realistic sites need the vendor bundles ${missing.join(", ")}; run npm ci`);
    }
    return Buffer.concat(files.flatMap((f) => [fs.readFileSync(f), Buffer.from(";\n")]));
}

/**
 * The site's own script: uses every vendor library the way a corporate front end does (a filtered catalogue, a news
 * list, a carousel on a timer, a cookie banner), writing only into its own elements after the page's content.
 */
const APP_JS = `(function () {
  var _ = window._, pb = window.protobuf, jsonata = window.jsonata;
  var items = _.range(2000).map(function (i) {
    return { id: i, cat: "c" + (i % 17), price: (i * 7919) % 10000, name: "Product " + i, tags: ["t" + (i % 5)] };
  });
  var byCat = _.groupBy(_.sortBy(items, ["price"]), "cat");
  var top = _.take(_.orderBy(items, ["price"], ["desc"]), 24);
  var Msg = new pb.Type("Item").add(new pb.Field("id", 1, "uint32")).add(new pb.Field("name", 2, "string"))
    .add(new pb.Field("price", 3, "uint32"));
  var encoded = top.map(function (it) { return Msg.encode(Msg.create(it)).finish(); });
  var aside = document.createElement("aside");
  aside.className = "rs-news";
  aside.setAttribute("aria-hidden", "true");
  var list = document.createElement("ul");
  Object.keys(byCat).slice(0, 12).forEach(function (k, i) {
    var li = document.createElement("li");
    li.className = "rs-news-item rs-u" + i;
    li.textContent = "2026.0" + ((i % 9) + 1) + ".01 " + k + " " + byCat[k].length + " " + encoded[i % 24].length;
    list.appendChild(li);
  });
  aside.appendChild(list);
  document.body.appendChild(aside);
  jsonata("$sum(items[price > 5000].price)").evaluate({ items: items }).then(function (total) {
    aside.setAttribute("data-total", String(total));
  });
  var n = 0;
  setInterval(function () {
    n = (n + 1) % 12;
    var slides = document.querySelectorAll(".rs-gallery img");
    for (var i = 0; i < slides.length; i++) slides[i].style.opacity = i === n ? "1" : "0.6";
  }, 3000);
  setTimeout(function () {
    var bar = document.createElement("div");
    bar.className = "rs-cookie";
    bar.setAttribute("role", "dialog");
    // The wording of most Japanese consent banners. ("OK" is avoided on purpose: the runner reads it as a send
    // button, and on a thanks page it then waits for an answer that never comes; reported in issue 17.)
    bar.innerHTML = "<span>当サイトではCookieを使用しています。</span> <button type='button'>同意する</button>";
    bar.querySelector("button").addEventListener("click", function () { bar.remove(); });
    document.body.appendChild(bar);
  }, 300);
})();`;

/**
 * The analytics library (what www.google-analytics.com/analytics.js stands for here): takes the page's ga() queue,
 * and keeps a timer running that measures the page and sends a beacon, as engagement trackers do.
 */
const ANALYTICS_JS = `(function () {
  var q = (window.ga && window.ga.q) || [];
  var hits = [];
  var ga = function () { hits.push(Array.prototype.slice.call(arguments)); };
  ga.loaded = true;
  window.ga = ga;
  q.forEach(function (a) { ga.apply(null, a); });
  setInterval(function () {
    var m = { t: Date.now(), y: window.scrollY, n: document.getElementsByTagName("*").length, h: hits.length };
    var e = performance.getEntriesByType("resource").length;
    try { navigator.sendBeacon(location.origin + "/__site/collect", JSON.stringify([m, e])); } catch (x) {}
  }, 1000);
})();`;

function css(fontUrl: string): { main: string; vendor: string } {
    const rules: string[] = [
        `@font-face{font-family:"RS Sans";src:url(${fontUrl}) format("truetype");font-display:swap}`,
        `body{font-family:"RS Sans",sans-serif}`,
        ".rs-cookie{position:fixed;left:0;right:0;bottom:0;padding:8px;background:#222;color:#fff;z-index:9999;" +
            "font-size:12px}",
        ".rs-gallery{display:flex;flex-wrap:wrap;gap:4px}.rs-gallery img{width:200px;height:140px}",
        ".rs-news{margin:16px;font-size:12px}",
    ];
    const main = [...rules];
    for (let i = 0; i < 420; i++) {
        main.push(
            `.rs-u${i}{margin:${i % 7}px ${i % 5}px;padding:${i % 3}px;color:#${(0x100000 + i * 2713).toString(16)}}` +
                `.rs-u${i}:hover{text-decoration:underline}@media (max-width:${600 + i}px){.rs-u${i}{display:block}}`,
        );
    }
    const vendor: string[] = [];
    for (let i = 0; i < 300; i++) {
        vendor.push(`.rs-v-col-${i}{flex:0 0 ${(i % 12) + 1}%;max-width:${(i % 12) + 1}%}`);
        vendor.push(`.rs-v-m-${i}{margin-top:${i % 48}px!important}`);
    }
    return { main: main.join("\n"), vendor: vendor.join("\n") };
}

/** The markup added to each document: stylesheets and analytics in <head>, gallery and scripts at the end of <body>. */
function injection(): { head: string; body: string } {
    const head =
        `<link rel="stylesheet" href="/__site/vendor.css"><link rel="stylesheet" href="/__site/site.css">` +
        `<script>window.ga=window.ga||function(){(ga.q=ga.q||[]).push(arguments)};ga.l=+new Date;` +
        `ga("create","UA-00000-1","auto");ga("send","pageview");</script>` +
        `<script async src="http://www.google-analytics.com/analytics.js"></script>`;
    const imgs = Array.from({ length: 12 }, (_, i) => `<img src="/__site/img/${i}.png" alt="">`).join("");
    const body =
        `<section class="rs-gallery" aria-hidden="true">${imgs}</section>` +
        `<script src="/__site/vendor.js"></script><script src="/__site/app.js"></script>`;
    return { head, body };
}

function inject(html: string): string {
    const { head, body } = injection();
    const withHead = /<head[^>]*>/i.test(html) ? html.replace(/<head[^>]*>/i, (m) => m + head) : head + html;
    return /<\/body>/i.test(withHead) ? withHead.replace(/<\/body>/i, body + "</body>") : withHead + body;
}

/**
 * Routes www.google-analytics.com/analytics.js to the local analytics library. The bench registers it on a context
 * before the runner's blocking (Playwright runs the last registered handler first, and blocking hands the requests
 * it allows on with `route.fallback()`), so blocking sees the real host name, and without blocking the library runs.
 */
export async function analyticsRoute(context: BrowserContext): Promise<void> {
    await context.route(/^http:\/\/www\.google-analytics\.com\//, async (route) => {
        await route.fulfill({ status: 200, contentType: "text/javascript", body: ANALYTICS_JS });
    });
}

/** Starts one proxy per upstream origin (127.0.1.x), each adding server time, a bandwidth cap and page weight. */
export async function startRealisticSites(
    upstreams: readonly string[],
    opts: RealisticOptions = {},
): Promise<RealisticSites> {
    const random = rng(opts.seed ?? 17);
    const bytesPerMs = (opts.bitsPerSecond ?? 10_000_000) / 8 / 1000;
    if (!(bytesPerMs > 0)) {
        throw new Error(`realistic sites: bitsPerSecond must be > 0, got ${opts.bitsPerSecond}`);
    }
    const fontFile = firstExisting([
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
    ]);
    const font = fontFile ? fs.readFileSync(fontFile) : Buffer.alloc(0);
    const styles = css("/__site/font.ttf");
    const assets = new Map<string, { type: string; body: Buffer }>([
        ["/__site/vendor.js", { type: "application/javascript", body: vendorBundle() }],
        ["/__site/app.js", { type: "application/javascript", body: Buffer.from(APP_JS) }],
        ["/__site/site.css", { type: "text/css", body: Buffer.from(styles.main) }],
        ["/__site/vendor.css", { type: "text/css", body: Buffer.from(styles.vendor) }],
        ["/__site/font.ttf", { type: "font/ttf", body: font }],
    ]);
    for (let i = 0; i < 12; i++) {
        assets.set(`/__site/img/${i}.png`, { type: "image/png", body: png(200, 140, random) });
    }
    const sum = (pred: (k: string) => boolean) =>
        [...assets].filter(([k]) => pred(k)).reduce((n, [, v]) => n + v.body.length, 0);
    const weight = {
        javascript: sum((k) => k.endsWith(".js")) + ANALYTICS_JS.length,
        css: sum((k) => k.endsWith(".css")),
        fonts: font.length,
        images: sum((k) => k.endsWith(".png")),
    };

    const n = upstreams.length;
    const waitMs = new Array<number>(n).fill(0);
    const bytes = new Array<number>(n).fill(0);
    const requests = new Array<number>(n).fill(0);
    const outstanding = new Array<number>(n).fill(0);
    const busySince = new Array<number>(n).fill(0);
    const linkFreeAt = new Array<number>(n).fill(0);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

    const begin = (i: number) => {
        if (outstanding[i]++ === 0) busySince[i] = Date.now();
        requests[i]++;
    };
    const end = (i: number) => {
        if (--outstanding[i] === 0) waitMs[i] += Date.now() - busySince[i];
    };
    /** Writes `body` through the site's shared link: each 16 KiB chunk waits for its turn at the capped rate. */
    const send = async (i: number, res: http.ServerResponse, body: Buffer) => {
        for (let off = 0; off < body.length; off += 16384) {
            const chunk = body.subarray(off, off + 16384);
            const start = Math.max(Date.now(), linkFreeAt[i]);
            linkFreeAt[i] = start + chunk.length / bytesPerMs;
            const wait = linkFreeAt[i] - Date.now();
            if (wait > 1) await new Promise((r) => setTimeout(r, wait));
            if (res.destroyed) return;
            res.write(chunk);
            bytes[i] += chunk.length;
        }
    };
    const serverTime = opts.serverTime ?? true;
    const sleep = (ms: number) => (serverTime ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());

    const servers: http.Server[] = [];
    const origins: string[] = [];
    for (let i = 0; i < n; i++) {
        const upstream = new URL(upstreams[i]);
        const server = http.createServer((req, res) => {
            // Beacons are fire-and-forget: nothing waits on them, so they are not network wait.
            if (!(req.url ?? "").startsWith("/__site/collect")) {
                begin(i);
                res.on("close", () => end(i));
            }
            const chunks: Buffer[] = [];
            req.on("data", (c: Buffer) => chunks.push(c));
            req.on("end", () => {
                void (async () => {
                    const url = req.url ?? "/";
                    const asset = assets.get(url.split("?")[0]);
                    if (asset || url.startsWith("/__site/")) {
                        await sleep(logNormal(random, 170, 0.4, 100, 600));
                        if (!asset) {
                            res.writeHead(204);
                            return res.end();
                        }
                        res.writeHead(200, {
                            "content-type": asset.type,
                            "content-length": asset.body.length,
                            "cache-control": "max-age=3600",
                        });
                        await send(i, res, asset.body);
                        return res.end();
                    }
                    await sleep(logNormal(random, 600, 0.6, 200, 2000));
                    const headers = { ...req.headers, host: upstream.host };
                    delete headers["accept-encoding"];
                    const up = http.request(
                        { host: upstream.hostname, port: upstream.port, method: req.method, path: url, headers, agent },
                        (upRes) => {
                            const parts: Buffer[] = [];
                            upRes.on("data", (c: Buffer) => parts.push(c));
                            upRes.on("end", () => {
                                void (async () => {
                                    let body = Buffer.concat(parts);
                                    const type = String(upRes.headers["content-type"] ?? "");
                                    const dest = String(req.headers["sec-fetch-dest"] ?? "");
                                    // Only top-level documents get the weight: fragments fetched by script and
                                    // iframes stay as they are.
                                    if (type.startsWith("text/html") && dest === "document") {
                                        body = Buffer.from(inject(body.toString("utf8")));
                                    }
                                    const out = { ...upRes.headers, "content-length": String(body.length) };
                                    delete out["transfer-encoding"];
                                    delete out.connection;
                                    res.writeHead(upRes.statusCode ?? 502, out);
                                    await send(i, res, body);
                                    res.end();
                                })();
                            });
                        },
                    );
                    up.on("error", (err) => {
                        if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
                        res.end(String(err));
                    });
                    up.end(Buffer.concat(chunks));
                })();
            });
        });
        const host = `127.0.1.${10 + i}`;
        await new Promise<void>((resolve, reject) => {
            server.once("error", reject);
            server.listen(0, host, () => resolve());
        });
        origins.push(`http://${host}:${(server.address() as { port: number }).port}`);
        servers.push(server);
    }
    return {
        origins,
        waitMs,
        bytes,
        requests,
        weight,
        reset: () => {
            waitMs.fill(0);
            bytes.fill(0);
            requests.fill(0);
        },
        close: async () => {
            agent.destroy();
            servers.forEach((s) => s.closeAllConnections());
            await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
        },
    };
}
