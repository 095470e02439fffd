/**
 * Request blocking: what a contact form never needs is not fetched, so Chromium spends neither bandwidth, CPU nor
 * renderer memory on it (measured by `npm run bench -- density`, issue 17).
 *
 * Blocked: images, media and fonts (by resource type; an `<img>` keeps its `alt`, which is what image-labelled forms
 * and image refusals are read from), and requests to known analytics and advertising hosts. Never blocked: documents,
 * scripts and stylesheets of the site itself (JavaScript forms, honeypots hidden by CSS, CAPTCHA widgets and their
 * scripts all depend on them), and hosts not on the list. Tag managers (gtm.js) are not blocked either: a container
 * may inject a consent dialog, a chat or a form product's embed.
 *
 * Two analytics libraries are answered with a surrogate instead of an error, because sites wire form submission to
 * their callbacks (`ga('send', 'event', { hitCallback: () => form.submit() })`, `gtag('event', …, { event_callback
 * })`): with the library simply blocked the callback never runs and the form never submits. The surrogates follow
 * uBlock Origin's (gorhill/uBlock, src/web_accessible_resources/google-analytics_analytics.js and
 * googletagmanager_gtm.js): run every callback, send nothing.
 *
 * Playwright intercepts with the Fetch domain, which also turns the HTTP cache off for the context
 * (https://playwright.dev/docs/api/class-browsercontext#browser-context-route: "Enabling routing disables http
 * cache"); the runner opens each site once per context, so there is little cache to lose.
 */
import type { BrowserContext, Route } from "playwright-core";

/** Resource types (Playwright's `request.resourceType()`, Chromium's CDP Network.ResourceType lower-cased). */
export const BLOCKED_RESOURCE_TYPES: ReadonlySet<string> = new Set(["image", "media", "font"]);

/**
 * Analytics and advertising hosts (and their subdomains): the largest entries of the Analytics and Advertising
 * categories of Disconnect's tracking-protection list (github.com/disconnectme/disconnect-tracking-protection,
 * services.json) and EasyPrivacy (easylist.to), plus the Japanese ad and analytics tags common on company sites.
 * Only hosts that serve nothing but measurement and ads: google.com, gstatic.com (reCAPTCHA), hsforms.net (HubSpot
 * forms) and the like are absent on purpose.
 */
export const BLOCKED_HOSTS: readonly string[] = [
    "google-analytics.com",
    "analytics.google.com",
    "doubleclick.net",
    "googlesyndication.com",
    "googleadservices.com",
    "adservice.google.com",
    "connect.facebook.net",
    "analytics.twitter.com",
    "static.ads-twitter.com",
    "ads.linkedin.com",
    "snap.licdn.com",
    "bat.bing.com",
    "clarity.ms",
    "hotjar.com",
    "mouseflow.com",
    "criteo.com",
    "criteo.net",
    "adnxs.com",
    "js-agent.newrelic.com",
    "yjtag.yahoo.co.jp",
    "b92.yahoo.co.jp",
    "ptengine.jp",
    "ptengine.com",
];

/** What to do with one request. */
export type BlockDecision =
    | { readonly action: "allow" }
    | { readonly action: "abort"; readonly why: string }
    /** Answer with this script instead of the real one (nothing leaves the machine). */
    | { readonly action: "surrogate"; readonly why: string; readonly body: string };

/** `window.ga` that runs every hitCallback and tracker callback (uBlock Origin google-analytics_analytics.js). */
export const GA_SURROGATE = `(function () {
  var noop = function () {};
  var Tracker = function () {};
  Tracker.prototype.get = noop; Tracker.prototype.set = noop; Tracker.prototype.send = noop;
  var name = window.GoogleAnalyticsObject || "ga";
  var queue = window[name] && window[name].q;
  var ga = function () {
    var args = Array.prototype.slice.call(arguments);
    var last = args[args.length - 1];
    if (typeof last === "function") { try { last(new Tracker()); } catch (e) {} return; }
    if (last && typeof last === "object" && typeof last.hitCallback === "function") { last.hitCallback(); return; }
    var at = args.indexOf("hitCallback");
    if (at !== -1 && typeof args[at + 1] === "function") args[at + 1]();
  };
  ga.create = function () { return new Tracker(); };
  ga.getByName = function () { return new Tracker(); };
  ga.getAll = function () { return [new Tracker()]; };
  ga.remove = noop;
  ga.loaded = true;
  window[name] = ga;
  if (Array.isArray(queue)) queue.forEach(function (a) { ga.apply(null, a); });
})();`;

/**
 * gtag.js stand-in: runs `event_callback` (gtag) and `eventCallback` (dataLayer), as uBlock Origin's
 * googletagmanager_gtm.js does.
 */
export const GTAG_SURROGATE = `(function () {
  var dl = window.dataLayer;
  if (!dl || typeof dl.push !== "function") return;
  var run = function (item) {
    if (!item || typeof item !== "object") return;
    if (typeof item.eventCallback === "function") setTimeout(item.eventCallback, 1);
    var params = item.length >= 3 ? item[2] : null;
    if (params && typeof params.event_callback === "function") setTimeout(params.event_callback, 1);
  };
  for (var i = 0; i < dl.length; i++) run(dl[i]);
  var push = dl.push;
  dl.push = function () {
    for (var j = 0; j < arguments.length; j++) run(arguments[j]);
    return push.apply(dl, arguments);
  };
})();`;

function onBlockedHost(hostname: string): string | undefined {
    const host = hostname.toLowerCase();
    return BLOCKED_HOSTS.find((h) => host === h || host.endsWith(`.${h}`));
}

/** The decision for a request, from its URL and Playwright resource type. Pure, for the table test. */
export function decideRequest(url: string, resourceType: string): BlockDecision {
    let parsed: URL;
    try {
        parsed = new URL(url);
    } catch {
        return { action: "allow" };
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
        // data:, blob: and about: never reach the network.
        return { action: "allow" };
    }
    const host = parsed.hostname.toLowerCase();
    if (resourceType === "script") {
        if (/(^|\.)google-analytics\.com$/.test(host) && /\/analytics(_debug)?\.js$/.test(parsed.pathname)) {
            return { action: "surrogate", why: "analytics.js", body: GA_SURROGATE };
        }
        if (/(^|\.)googletagmanager\.com$/.test(host) && parsed.pathname === "/gtag/js") {
            return { action: "surrogate", why: "gtag.js", body: GTAG_SURROGATE };
        }
    }
    if (BLOCKED_RESOURCE_TYPES.has(resourceType)) {
        return { action: "abort", why: resourceType };
    }
    const listed = onBlockedHost(host);
    if (listed) {
        return { action: "abort", why: `host ${listed}` };
    }
    return { action: "allow" };
}

/** Counts of what blocking did in one context, for the log and the bench. */
export interface BlockingStats {
    allowed: number;
    aborted: number;
    surrogates: number;
}

async function handle(route: Route, stats: BlockingStats): Promise<void> {
    const request = route.request();
    const decision = decideRequest(request.url(), request.resourceType());
    // A route whose page closed meanwhile rejects; that is not an error of the form.
    if (decision.action === "abort") {
        stats.aborted++;
        await route.abort("blockedbyclient").catch(() => undefined);
    } else if (decision.action === "surrogate") {
        stats.surrogates++;
        await route
            .fulfill({ status: 200, contentType: "text/javascript; charset=utf-8", body: decision.body })
            .catch(() => undefined);
    } else {
        stats.allowed++;
        // fallback, not continue: a handler registered before this one (a test's, the bench's) still sees the request.
        await route.fallback().catch(() => undefined);
    }
}

/** Installs the blocking rules on every page of `context` (popups included); returns its live counters. */
export async function installRequestBlocking(context: BrowserContext): Promise<BlockingStats> {
    const stats: BlockingStats = { allowed: 0, aborted: 0, surrogates: 0 };
    await context.route("**/*", (route) => handle(route, stats));
    return stats;
}
