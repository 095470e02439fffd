/**
 * The three YouTube Data API v3 list calls the sync needs, and nothing else. `search.list` is
 * never used: it draws on its own bucket of 100 calls a day (100 units a call in older copies of
 * https://developers.google.com/youtube/v3/determine_quota_cost), far too few for nightly
 * listing, and it does not promise every upload, where walking the uploads playlist with
 * `playlistItems.list` costs 1 unit a page. Every answered call counts one unit, errors included
 * (the same page: "All API requests, including invalid requests, incur a quota cost of at least
 * one point"), except the quotaExceeded refusals themselves.
 */
import type { Logger } from "./log";
import { isJsonObject, JsonObject, obj } from "./rows";

export const YOUTUBE_API_BASE_URL = "https://www.googleapis.com/youtube/v3";
/** Largest page / id batch the list endpoints accept. */
export const PAGE_SIZE = 50;
/**
 * playlistItems.list stops paging a channel's uploads playlist after about this many items, newest
 * first, so the oldest uploads of a larger channel cannot be listed. Not in Google's
 * documentation: a maintainer's statement, "the 20,000 videos from an uploads playlist is an API
 * limitation on the playlistItems.list" (mattwright324/youtube-metadata#177, 2024). The sync
 * reports such channels as truncated (listed < statistics.videoCount) whatever the exact number.
 */
export const UPLOADS_PAGING_CAP = 20_000;
/** Default daily quota of a Google Cloud project. */
export const DEFAULT_QUOTA_BUDGET = 10_000;

export interface RetryPolicy {
    /** Attempts per call, the first included. */
    readonly attempts: number;
    readonly baseDelayMs: number;
    readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, baseDelayMs: 500, maxDelayMs: 16_000 };

/** Reasons YouTube gives when the project's daily quota is gone: retrying cannot help today. */
const QUOTA_REASONS = new Set(["quotaExceeded", "dailyLimitExceeded"]);
/** Short-term rate limits: worth a retry after a pause. */
const RATE_REASONS = new Set(["rateLimitExceeded", "userRateLimitExceeded"]);

/** Thrown when YouTube reports the daily quota exhausted, or the run's own budget is spent. */
export class QuotaExhaustedError extends Error {
    constructor(message: string, reason: string) {
        super(message);
        this.name = "QuotaExhaustedError";
        // Assigned here rather than as class fields: the serialized Lambda drops field initializers.
        (this as { reason?: string }).reason = reason;
    }
}

/** A non-retryable API error (or a retryable one that kept failing). */
export class YouTubeApiError extends Error {
    constructor(message: string, status: number, reason: string | undefined, errorInfo?: string) {
        super(message);
        this.name = "YouTubeApiError";
        (this as { status?: number }).status = status;
        (this as { reason?: string }).reason = reason;
        (this as { errorInfo?: string }).errorInfo = errorInfo;
    }
}

/**
 * Reasons that concern the one channel or playlist a call named, so the sync skips that channel
 * and loads the others (https://developers.google.com/youtube/v3/docs/errors):
 * - `invalidPageToken` (400, "Common request errors"); valid uploads-playlist tokens have been
 *   refused intermittently (Elijas/auto-youtube-subscription-playlist-2#96, Google issue tracker
 *   196478069), so the sync restarts the walk once before giving up on the channel;
 * - `channelClosed`, `channelSuspended`, `channelNotFound` (403, "Common request errors");
 * - `forbidden` (403, "Core API errors") on one channel's playlist;
 * - `playlistItemsNotAccessible` (403, https://developers.google.com/youtube/v3/docs/playlistItems/list#errors).
 * Anything else (an invalid key, a disabled API, quota, a malformed request, an outage that
 * outlasts the retries) concerns every channel and keeps failing or stopping the whole run.
 */
export const CHANNEL_SCOPED_REASONS: ReadonlySet<string> = new Set([
    "invalidPageToken",
    "channelClosed",
    "channelSuspended",
    "channelNotFound",
    "forbidden",
    "playlistItemsNotAccessible",
]);

/**
 * The reason when `err` concerns only the channel whose call raised it, else undefined. An error
 * that carries an ErrorInfo reason (API_KEY_INVALID, SERVICE_DISABLED, …) is about the key or
 * the project, never one channel.
 */
export function channelScopedReason(err: unknown): string | undefined {
    if (!(err instanceof YouTubeApiError)) return undefined;
    const { reason, errorInfo } = err as { reason?: string; errorInfo?: string };
    return reason !== undefined && errorInfo === undefined && CHANNEL_SCOPED_REASONS.has(reason) ? reason : undefined;
}

export interface YouTubeClientOptions {
    readonly apiKey: string;
    /** e.g. https://www.googleapis.com/youtube/v3 (no trailing slash needed). */
    readonly baseUrl?: string;
    readonly fetch?: typeof fetch;
    readonly sleep?: (ms: number) => Promise<void>;
    readonly logger: Logger;
    readonly retry?: RetryPolicy;
    /** Units this run may spend; a call that would exceed it is not made. @default 10000 */
    readonly quotaBudget?: number;
    /** Random source for backoff jitter (tests pass a constant). */
    readonly random?: () => number;
}

export interface QuotaUsage {
    units: number;
    calls: Record<"channels" | "playlistItems" | "videos", number>;
    retries: number;
}

export interface PlaylistPage {
    readonly videoIds: string[];
    readonly nextPageToken?: string;
    /** The playlist does not exist (a channel that never uploaded). */
    readonly notFound?: boolean;
}

/** Items of list answers are parsed JSON objects; rows.ts checks each field it reads. */
export interface YouTubeClient {
    /** `channels.list` for up to 50 ids: items with snippet, contentDetails and statistics. */
    channels(ids: string[]): Promise<JsonObject[]>;
    /** One `playlistItems.list` page of up to 50 video ids. */
    playlistPage(playlistId: string, pageToken?: string): Promise<PlaylistPage>;
    /** `videos.list` for up to 50 ids: items with snippet, statistics and contentDetails. */
    videos(ids: string[]): Promise<JsonObject[]>;
    readonly quota: QuotaUsage;
}

interface ApiErrorBody {
    error?: {
        code?: number;
        message?: string;
        errors?: { reason?: string; message?: string }[];
        status?: string;
        details?: { "@type"?: string; reason?: string }[];
    };
}

/** The objects of a list answer's `items` (none when the answer has no such array). */
function itemsOf(body: unknown): JsonObject[] {
    const items = obj(body).items;
    return Array.isArray(items) ? items.filter(isJsonObject) : [];
}

function errorReason(body: ApiErrorBody | undefined): string | undefined {
    return body?.error?.errors?.[0]?.reason ?? body?.error?.status;
}

/**
 * The `google.rpc.ErrorInfo` reason newer Google errors add, e.g. `API_KEY_INVALID` beside the
 * generic `badRequest` of an invalid key (gabe565/CastSponsorSkip#66, 2024).
 */
function errorInfoReason(body: ApiErrorBody | undefined): string | undefined {
    return body?.error?.details?.find((d) => d["@type"] === "type.googleapis.com/google.rpc.ErrorInfo")?.reason;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function createYouTubeClient(opts: YouTubeClientOptions): YouTubeClient {
    const base = (opts.baseUrl ?? YOUTUBE_API_BASE_URL).replace(/\/+$/, "");
    const doFetch = opts.fetch ?? fetch;
    const sleep = opts.sleep ?? realSleep;
    const retry = opts.retry ?? DEFAULT_RETRY;
    const budget = opts.quotaBudget ?? DEFAULT_QUOTA_BUDGET;
    const random = opts.random ?? Math.random;
    const log = opts.logger;
    const quota: QuotaUsage = { units: 0, calls: { channels: 0, playlistItems: 0, videos: 0 }, retries: 0 };

    function delay(attempt: number, retryAfter: string | null): number {
        const seconds = retryAfter !== null && /^\d+$/.test(retryAfter) ? Number(retryAfter) * 1000 : undefined;
        const backoff = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1));
        // Full jitter keeps parallel clients from retrying in lockstep.
        return Math.min(retry.maxDelayMs, seconds ?? Math.round(backoff / 2 + (random() * backoff) / 2));
    }

    async function call(endpoint: keyof QuotaUsage["calls"], params: Record<string, string>): Promise<unknown> {
        const query = new URLSearchParams({ ...params, key: opts.apiKey }).toString();
        const url = `${base}/${endpoint}?${query}`;
        // What the logs may show: the key never appears in them.
        const label = `${endpoint}.list ${Object.entries(params)
            .map(([k, v]) => `${k}=${v.length > 60 ? `${v.slice(0, 60)}…` : v}`)
            .join(" ")}`;
        for (let attempt = 1; ; attempt++) {
            if (quota.units + 1 > budget) {
                throw new QuotaExhaustedError(`quota budget of ${budget} units spent before ${label}`, "budget");
            }
            let res: Response;
            try {
                res = await doFetch(url, { headers: { accept: "application/json" } });
            } catch (err) {
                // Network failures never reached the API, so they cost no quota.
                if (attempt >= retry.attempts) {
                    throw new YouTubeApiError(
                        `${label}: network error after ${attempt} attempts: ${(err as Error).message}`,
                        0,
                        "network",
                    );
                }
                const wait = delay(attempt, null);
                quota.retries++;
                log.warn("youtube call failed, retrying", {
                    call: label,
                    attempt,
                    waitMs: wait,
                    error: (err as Error).message,
                });
                await sleep(wait);
                continue;
            }
            const text = await res.text();
            if (res.ok) {
                quota.units++;
                quota.calls[endpoint]++;
                try {
                    return JSON.parse(text) as unknown;
                } catch {
                    throw new YouTubeApiError(
                        `${label}: HTTP ${res.status} with a body that is not JSON`,
                        res.status,
                        "badResponse",
                    );
                }
            }
            let body: ApiErrorBody | undefined;
            try {
                body = JSON.parse(text) as ApiErrorBody;
            } catch {
                body = undefined;
            }
            const reason = errorReason(body);
            const info = errorInfoReason(body);
            const message = `${info !== undefined ? `(${info}) ` : ""}${body?.error?.message ?? text.slice(0, 200)}`;
            if (res.status === 403 && reason !== undefined && QUOTA_REASONS.has(reason)) {
                // Refused for want of quota, so not charged.
                throw new QuotaExhaustedError(`${label}: ${reason}: ${message}`, reason);
            }
            quota.units++;
            quota.calls[endpoint]++;
            const retryable =
                res.status >= 500 ||
                res.status === 429 ||
                (res.status === 403 && reason !== undefined && RATE_REASONS.has(reason));
            if (!retryable) {
                throw new YouTubeApiError(
                    `${label}: HTTP ${res.status}${reason ? ` ${reason}` : ""}: ${message}`,
                    res.status,
                    reason,
                    info,
                );
            }
            if (attempt >= retry.attempts) {
                throw new YouTubeApiError(
                    `${label}: HTTP ${res.status}${reason ? ` ${reason}` : ""} after ${attempt} attempts: ${message}`,
                    res.status,
                    reason,
                    info,
                );
            }
            const wait = delay(attempt, res.headers.get("retry-after"));
            quota.retries++;
            log.warn("youtube call failed, retrying", {
                call: label,
                status: res.status,
                reason,
                attempt,
                waitMs: wait,
            });
            await sleep(wait);
        }
    }

    function checkBatch(what: string, ids: string[]): void {
        if (ids.length === 0 || ids.length > PAGE_SIZE)
            throw new Error(`${what}: between 1 and ${PAGE_SIZE} ids per call, got ${ids.length}`);
    }

    return {
        quota,
        async channels(ids) {
            checkBatch("channels.list", ids);
            // No maxResults: an id lookup returns every listed id anyway (at most 50).
            const body = await call("channels", { part: "snippet,contentDetails,statistics", id: ids.join(",") });
            return itemsOf(body);
        },
        async playlistPage(playlistId, pageToken) {
            const params: Record<string, string> = {
                part: "contentDetails",
                playlistId,
                maxResults: String(PAGE_SIZE),
            };
            if (pageToken !== undefined) params.pageToken = pageToken;
            let body: unknown;
            try {
                body = await call("playlistItems", params);
            } catch (err) {
                // A channel that never uploaded may have no uploads playlist to list.
                if (err instanceof YouTubeApiError && (err as { status?: number }).status === 404)
                    return { videoIds: [], notFound: true };
                throw err;
            }
            const videoIds = itemsOf(body)
                .map((it) => obj(it.contentDetails).videoId ?? obj(obj(it.snippet).resourceId).videoId)
                .filter((id): id is string => typeof id === "string" && id.length > 0);
            const token = obj(body).nextPageToken;
            const next = typeof token === "string" && token !== "" ? token : undefined;
            return { videoIds, nextPageToken: next };
        },
        async videos(ids) {
            checkBatch("videos.list", ids);
            // No maxResults: videos.list documents it as "not supported for use in conjunction with the id
            // parameter" (https://developers.google.com/youtube/v3/docs/videos/list#maxResults).
            const body = await call("videos", { part: "snippet,statistics,contentDetails", id: ids.join(",") });
            return itemsOf(body);
        },
    };
}
