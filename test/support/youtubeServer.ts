/**
 * A loopback stand-in for the three YouTube Data API v3 endpoints the sync uses
 * (channels.list, playlistItems.list, videos.list). It answers as the real API does today for
 * everything functions/syncBatch can meet; each rule names its source, and
 * test/contracts/youtube.test.ts holds one row per rule (add new behaviour there first).
 *
 * Sources:
 *   [ERRORS]  https://developers.google.com/youtube/v3/docs/errors (core and common request errors)
 *   [PLI]     https://developers.google.com/youtube/v3/docs/playlistItems/list (parameters, errors)
 *   [VIDEOS]  https://developers.google.com/youtube/v3/docs/videos/list (parameters)
 *   [CHANNELS] https://developers.google.com/youtube/v3/docs/channels/list (parameters)
 *   [PAGING]  https://developers.google.com/youtube/v3/guides/implementation/pagination
 *   [QUOTA]   https://developers.google.com/youtube/v3/determine_quota_cost
 *   [DISC]    the API's discovery document (googleapis/google-api-go-client youtube/v3/youtube-api.json):
 *             the parts each resource has
 * and real answers quoted in public issue threads where the documentation says nothing, named
 * at each rule.
 *
 * Tests and the bench load channels into it, inject faults (5xx bursts, 429s, per-channel 403s,
 * spurious invalidPageToken, quota exhaustion) and read the request log. Any other endpoint
 * (search.list included) answers 404: a deliberate guard, the sync must never call it.
 */
import * as http from "http";
import { AddressInfo } from "net";

/** A JSON object as the API serves it: a resource, a list response or an error body. */
export type Json = Record<string, unknown>;

/** A videos.list item as {@link videoResource} builds it; tests read and change its snippet and statistics. */
export type VideoResource = Json & {
    id: string;
    snippet: Json & { channelId: string; title: string; publishedAt: string };
    statistics?: Json;
};

/** The fields of resources and error bodies the fake itself reads. */
interface ReadFields {
    readonly id?: string;
    readonly snippet?: { readonly publishedAt?: string };
    readonly contentDetails?: { readonly relatedPlaylists?: { readonly uploads?: unknown } };
    readonly error?: {
        readonly errors?: readonly { readonly reason?: string }[];
        readonly details?: readonly { readonly reason?: string }[];
    };
}
const read = (o: Json | undefined): ReadFields | undefined => o;

/** A channel as the fake serves it. */
export interface FakeChannel {
    /** channels.list item (id, snippet, contentDetails.relatedPlaylists.uploads, statistics). */
    readonly resource: Json;
    /**
     * The uploads playlist: video ids in upload order (newest first, as YouTube lists them).
     * Ids without a video resource stand for deleted/private videos: videos.list skips them.
     */
    readonly playlist: { readonly count: number; idAt(i: number): string };
    /** playlistItems.list answers 404 playlistNotFound for this channel's uploads playlist. */
    readonly playlistMissing?: boolean;
}

export interface RecordedRequest {
    readonly method: string;
    /** Path below the API root: `channels`, `playlistItems`, `videos`, `search`, … */
    readonly endpoint: string;
    readonly params: Record<string, string>;
    readonly status: number;
}

export interface Fault {
    /** Endpoint it applies to; any endpoint when omitted. */
    readonly endpoint?: string;
    /** Only requests for this playlist (playlistItems.list `playlistId`). @default any */
    readonly playlistId?: string;
    readonly status: number;
    /**
     * Error reason in the body (`backendError`, `channelClosed`, `invalidPageToken`, …); the
     * message is the documented one for the reasons in FAULT_MESSAGES.
     */
    readonly reason?: string;
    /** Retry-After header value (seconds). */
    readonly retryAfter?: string;
    /** Matching requests answered normally before the fault starts. @default 0 */
    readonly after?: number;
    /** `html`: a front-end error page instead of a JSON body (seen on 502s). @default json */
    readonly body?: "json" | "html";
}

export interface YouTubeServer {
    /** API root, e.g. http://127.0.0.1:41234/youtube/v3 */
    readonly baseUrl: string;
    readonly requests: RecordedRequest[];
    addChannel(channel: FakeChannel): void;
    /** Serves `resource` from videos.list (replacing any earlier version). */
    addVideo(resource: Json): void;
    /** Looks up a video resource by id (generated or added). */
    video(id: string): Json | undefined;
    /** Answers the next `count` matching requests with `fault`. */
    failNext(count: number, fault: Fault): void;
    /** After `units` more answered calls every call gets 403 quotaExceeded; undefined lifts it. */
    exhaustQuotaAfter(units: number | undefined): void;
    /** Clears the request log and pending faults (channels and videos stay). */
    resetLog(): void;
    /** Answered calls since the last resetLog (quota units as YouTube counts them). */
    readonly units: number;
    close(): Promise<void>;
}

export interface YouTubeServerOptions {
    /** The only key accepted; others get today's 400 badRequest / API_KEY_INVALID. */
    readonly apiKey: string;
    /** Items after which an uploads playlist stops paging. @default UPLOADS_PAGING_CAP (20,000) */
    readonly uploadsCap?: number;
    /** Generates video resources on demand (bench: 100,000 videos without holding them). */
    readonly generateVideo?: (id: string) => Json | undefined;
}

/** [PLI][VIDEOS][CHANNELS] maxResults "Acceptable values are 0 to 50" (videos: 1 to 50); id lists likewise. */
const MAX = 50;

/**
 * playlistItems.list stops paging an uploads playlist after 20,000 items, newest first. Not in
 * Google's documentation: "the 20,000 videos from an uploads playlist is an API limitation on
 * the playlistItems.list" (maintainer of mattwright324/youtube-metadata, issue #177, 2024; the
 * same ceiling in jolantahuba/YT-Backup#3). Whether pageInfo.totalResults then still gives the
 * full count is not known; the stand-in gives the full count.
 */
export const UPLOADS_PAGING_CAP = 20_000;

/**
 * [DISC] The parts each resource has; any other gives 400 unknownPart (below). Keep in step with
 * the discovery document when a part is added or removed (invideoPromotion was removed from
 * channels: madcoda/php-youtube-api#80).
 */
const PARTS: Record<string, ReadonlySet<string>> = {
    channels: new Set([
        "auditDetails",
        "brandingSettings",
        "contentDetails",
        "contentOwnerDetails",
        "id",
        "localizations",
        "snippet",
        "statistics",
        "status",
        "topicDetails",
    ]),
    playlistItems: new Set(["contentDetails", "id", "snippet", "status"]),
    videos: new Set([
        "contentDetails",
        "fileDetails",
        "id",
        "liveStreamingDetails",
        "localizations",
        "paidProductPlacementDetails",
        "player",
        "processingDetails",
        "recordingDetails",
        "snippet",
        "statistics",
        "status",
        "suggestions",
        "topicDetails",
    ]),
};

function errorBody(code: number, reason: string, message: string, domain = "youtube.api", extra: Json = {}): Json {
    return { error: { code, message, errors: [{ message, domain, reason, ...extra }] } };
}

/** Real quotaExceeded answer (Stekeblad/Stekeblads-Video-Uploader#13, ShareX/ShareX#4477); [ERRORS] 403 quotaExceeded. */
const QUOTA_MESSAGE =
    'The request cannot be completed because you have exceeded your <a href="/youtube/v3/getting-started#quota">quota</a>.';

/**
 * Today's answer to an invalid key: 400, errors[0].reason `badRequest`, status INVALID_ARGUMENT and
 * an ErrorInfo detail API_KEY_INVALID (gabe565/CastSponsorSkip#66, 2024; the Go client prints
 * "Error 400: API key not valid. Please pass a valid API key. … reason: API_KEY_INVALID …, badRequest").
 * The `keyInvalid` / `usageLimits` body of 2018–2020 threads (alaouy/YouTube#101) is no longer sent.
 */
const INVALID_KEY_MESSAGE = "API key not valid. Please pass a valid API key.";
function invalidKeyBody(): Json {
    return {
        error: {
            code: 400,
            message: INVALID_KEY_MESSAGE,
            errors: [{ message: INVALID_KEY_MESSAGE, domain: "global", reason: "badRequest" }],
            status: "INVALID_ARGUMENT",
            details: [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    reason: "API_KEY_INVALID",
                    domain: "googleapis.com",
                    metadata: { service: "youtube.googleapis.com" },
                },
            ],
        },
    };
}

/** Documented messages of the reasons tests inject ([ERRORS] and [PLI] "Errors"). */
const FAULT_MESSAGES: Record<string, string> = {
    forbidden: "Access forbidden. The request may not be properly authorized.",
    channelClosed: "The channel identified in the request has been closed.",
    channelSuspended: "The channel identified in the request has been suspended.",
    channelNotFound: "The channel identified in the request cannot be found.",
    playlistItemsNotAccessible: "The request is not properly authorized to retrieve the specified playlist.",
    invalidPageToken: "The request specifies an invalid page token.",
};

export async function startYouTubeServer(opts: YouTubeServerOptions): Promise<YouTubeServer> {
    const channels = new Map<string, FakeChannel>();
    const playlists = new Map<string, FakeChannel>();
    const videos = new Map<string, Json>();
    const requests: RecordedRequest[] = [];
    let faults: { count: number; skip: number; fault: Fault }[] = [];
    let quotaLeft: number | undefined;
    let units = 0;

    const lookupVideo = (id: string): Json | undefined => videos.get(id) ?? opts.generateVideo?.(id);

    function answer(
        endpoint: string,
        q: URLSearchParams,
    ): { status: number; body: Json; headers?: Record<string, string>; html?: boolean } {
        if (q.get("key") !== opts.apiKey) return { status: 400, body: invalidKeyBody() };
        if (quotaLeft !== undefined && quotaLeft <= 0) {
            return { status: 403, body: errorBody(403, "quotaExceeded", QUOTA_MESSAGE, "youtube.quota") };
        }
        // Faults with `after` still pending let this request through and count it.
        let fi = -1;
        faults.forEach((f, i) => {
            if (f.count <= 0 || (f.fault.endpoint !== undefined && f.fault.endpoint !== endpoint)) return;
            if (f.fault.playlistId !== undefined && f.fault.playlistId !== q.get("playlistId")) return;
            if (f.skip > 0) f.skip--;
            else if (fi < 0) fi = i;
        });
        if (fi >= 0) {
            const { fault } = faults[fi];
            faults[fi].count--;
            faults = faults.filter((f) => f.count > 0);
            const reason = fault.reason ?? (fault.status >= 500 ? "backendError" : "error");
            return {
                status: fault.status,
                body: errorBody(fault.status, reason, FAULT_MESSAGES[reason] ?? `injected ${fault.status}`),
                headers: fault.retryAfter ? { "retry-after": fault.retryAfter } : undefined,
                html: fault.body === "html",
            };
        }
        if (!["channels", "playlistItems", "videos"].includes(endpoint)) {
            return { status: 404, body: errorBody(404, "notFound", `the fake serves no ${endpoint} endpoint`) };
        }
        const part = q.get("part");
        // "Required parameter: part", domain global, reason required (youtube/api-samples#162, #262).
        if (!part) {
            return {
                status: 400,
                body: errorBody(400, "required", "Required parameter: part", "global", {
                    locationType: "parameter",
                    location: "part",
                }),
            };
        }
        // A part the resource lacks: 400, domain youtube.part, reason unknownPart, the part as message
        // (madcoda/php-youtube-api#80, googleapis/google-api-php-client#1777).
        const unknown = part.split(",").find((p) => !PARTS[endpoint].has(p.trim()));
        if (unknown !== undefined) {
            return {
                status: 400,
                body: errorBody(400, "unknownPart", unknown, "youtube.part", {
                    locationType: "parameter",
                    location: "part",
                }),
            };
        }
        // [VIDEOS] maxResults "is supported for use with the myRating and chart parameters, but it is
        // not supported for use in conjunction with the id parameter". The real API was seen
        // accepting it anyway (claudiob/yt#90, 2014); the stand-in refuses it with the documented
        // incompatibleParameters error ([ERRORS] "two or more parameters that cannot be used in the
        // same request") so that the sync never relies on what the documentation disowns.
        if (endpoint === "videos" && q.has("id") && q.has("maxResults")) {
            return {
                status: 400,
                body: errorBody(
                    400,
                    "incompatibleParameters",
                    "The request specifies two or more parameters that cannot be used in the same request.",
                ),
            };
        }
        const maxResults = Number(q.get("maxResults") ?? "5");
        if (!(maxResults >= 0 && maxResults <= MAX)) {
            return {
                status: 400,
                body: errorBody(
                    400,
                    "invalidValue",
                    `Invalid value '${q.get("maxResults")}'. Values must be within the range: [0, 50]`,
                ),
            };
        }
        const ids = (q.get("id") ?? "").split(",").filter((s) => s !== "");
        // Not confirmed: the answer to more than 50 ids is not documented; the sync never sends more.
        if (ids.length > MAX) return { status: 400, body: errorBody(400, "invalidFilters", `more than ${MAX} ids`) };
        const parts = new Set(part.split(","));
        const pick = (res: Json) =>
            Object.fromEntries(
                Object.entries(res).filter(([k]) => k === "kind" || k === "etag" || k === "id" || parts.has(k)),
            );
        if (endpoint === "channels") {
            const items = ids
                .map((id) => channels.get(id)?.resource)
                .filter((r): r is Json => r !== undefined)
                .map(pick);
            // Unknown or terminated ids are left out, and an answer with none has no `items` key at all:
            // 200 {"kind", "etag", "pageInfo": {"totalResults": 0, "resultsPerPage": 5}} (medialab/minet#753,
            // Elijas/auto-youtube-subscription-playlist-2#109). resultsPerPage is maxResults, default 5 [CHANNELS].
            const body: Json = {
                kind: "youtube#channelListResponse",
                etag: "etag-channels",
                pageInfo: { totalResults: items.length, resultsPerPage: maxResults },
            };
            if (items.length > 0) body.items = items;
            return { status: 200, body };
        }
        if (endpoint === "videos") {
            // Deleted and private videos are left out without an error. Whether an answer with none
            // keeps `items: []` is not confirmed; the stand-in keeps it (the sync reads either).
            const items = ids
                .map(lookupVideo)
                .filter((r): r is Json => r !== undefined)
                .map(pick);
            return {
                status: 200,
                body: {
                    kind: "youtube#videoListResponse",
                    pageInfo: { totalResults: items.length, resultsPerPage: items.length },
                    items,
                },
            };
        }
        const playlistId = q.get("playlistId") ?? "";
        const owner = playlists.get(playlistId);
        // [PLI] notFound (404) playlistNotFound.
        if (!owner || owner.playlistMissing) {
            return {
                status: 404,
                body: errorBody(
                    404,
                    "playlistNotFound",
                    "The playlist identified with the request's <code>playlistId</code> parameter cannot be found.",
                ),
            };
        }
        // [PAGING] tokens are opaque; [ERRORS] badRequest (400) invalidPageToken for one not issued.
        const token = q.get("pageToken");
        const start = token ? Number(Buffer.from(token, "base64url").toString().replace(/^off:/, "")) : 0;
        // Every playlist the stand-in serves is an uploads playlist, so every one stops at the cap.
        const reachable = Math.min(owner.playlist.count, opts.uploadsCap ?? UPLOADS_PAGING_CAP);
        if (!Number.isInteger(start) || start < 0 || start > reachable)
            return {
                status: 400,
                body: errorBody(400, "invalidPageToken", FAULT_MESSAGES.invalidPageToken),
            };
        const end = Math.min(reachable, start + maxResults);
        const items: Json[] = [];
        for (let i = start; i < end; i++) {
            const videoId = owner.playlist.idAt(i);
            items.push({
                kind: "youtube#playlistItem",
                id: Buffer.from(`${playlistId}.${videoId}`).toString("base64url"),
                contentDetails: { videoId, videoPublishedAt: read(lookupVideo(videoId))?.snippet?.publishedAt },
            });
        }
        const body: Json = {
            kind: "youtube#playlistItemListResponse",
            pageInfo: { totalResults: owner.playlist.count, resultsPerPage: maxResults },
            items,
        };
        // [PAGING] nextPageToken is absent on the last page (the last the cap lets through).
        if (end < reachable) body.nextPageToken = Buffer.from(`off:${end}`).toString("base64url");
        if (start > 0) body.prevPageToken = Buffer.from(`off:${Math.max(0, start - maxResults)}`).toString("base64url");
        return { status: 200, body };
    }

    const server = http.createServer((req, res) => {
        const url = new URL(req.url ?? "/", "http://fake");
        const endpoint = url.pathname.replace(/^\/youtube\/v3\//, "");
        const params = Object.fromEntries(url.searchParams);
        const out =
            req.method === "GET"
                ? answer(endpoint, url.searchParams)
                : { status: 405, body: errorBody(405, "methodNotAllowed", "GET only") };
        const reason = read(out.body)?.error?.errors?.[0]?.reason;
        // [QUOTA] "All API requests, including invalid requests, incur a quota cost of at least one
        // point". Not charged here: refusals for want of quota, and calls with an invalid key (no
        // project to charge).
        const quotaError = out.status === 403 && reason === "quotaExceeded";
        const keyError = out.status === 400 && read(out.body)?.error?.details?.[0]?.reason === "API_KEY_INVALID";
        if (!quotaError && !keyError) {
            units++;
            if (quotaLeft !== undefined) quotaLeft--;
        }
        requests.push({ method: req.method ?? "", endpoint, params, status: out.status });
        if ("html" in out && out.html) {
            res.writeHead(out.status, { "content-type": "text/html; charset=UTF-8", ...(out.headers ?? {}) });
            res.end(`<html><body><h1>${out.status}.</h1> That’s an error.</body></html>`);
            return;
        }
        const text = JSON.stringify(out.body);
        res.writeHead(out.status, { "content-type": "application/json; charset=UTF-8", ...(out.headers ?? {}) });
        res.end(text);
    });
    server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;

    return {
        baseUrl: `http://127.0.0.1:${port}/youtube/v3`,
        requests,
        addChannel(channel) {
            channels.set(read(channel.resource)!.id!, channel);
            const uploads = read(channel.resource)?.contentDetails?.relatedPlaylists?.uploads;
            if (typeof uploads === "string") playlists.set(uploads, channel);
        },
        addVideo(resource) {
            videos.set(read(resource)!.id!, resource);
        },
        video: lookupVideo,
        failNext(count, fault) {
            faults.push({ count, skip: fault.after ?? 0, fault });
        },
        exhaustQuotaAfter(n) {
            quotaLeft = n;
        },
        resetLog() {
            requests.length = 0;
            faults = [];
            units = 0;
        },
        get units() {
            return units;
        },
        close: () =>
            new Promise<void>((resolve) => {
                server.closeAllConnections();
                server.close(() => resolve());
            }),
    };
}

// ---- resource builders ----------------------------------------------------------------------

/** A deterministic 24-character channel id (`UC` + 22) from a label. */
export function channelId(label: string): string {
    return `UC${label
        .replace(/[^A-Za-z0-9_-]/g, "")
        .padEnd(22, "x")
        .slice(0, 22)}`;
}

/** A deterministic 11-character video id. */
export function videoId(label: string): string {
    return label
        .replace(/[^A-Za-z0-9_-]/g, "")
        .padStart(11, "v")
        .slice(-11);
}

/** A channels.list item; `uploads` null leaves the channel without an uploads playlist. */
export function channelResource(
    id: string,
    o: { title?: string; uploads?: string | null; statistics?: Json | null; snippet?: Json } = {},
): Json {
    const res: Json = {
        kind: "youtube#channel",
        etag: `etag-${id}`,
        id,
        snippet: {
            title: o.title ?? `Channel ${id}`,
            description: `About ${id}`,
            customUrl: `@${id.slice(2, 10).toLowerCase()}`,
            publishedAt: "2015-04-01T09:00:00Z",
            country: "JP",
            thumbnails: {
                default: { url: `https://yt3.example/${id}/88` },
                high: { url: `https://yt3.example/${id}/800` },
            },
            ...o.snippet,
        },
        contentDetails: {
            relatedPlaylists: { likes: "", uploads: o.uploads === undefined ? `UU${id.slice(2)}` : o.uploads },
        },
    };
    if (o.uploads === null) res.contentDetails = { relatedPlaylists: { likes: "" } };
    if (o.statistics !== null) {
        res.statistics = o.statistics ?? {
            viewCount: "123456",
            subscriberCount: "7890",
            hiddenSubscriberCount: false,
            videoCount: "3",
        };
    }
    return res;
}

/** A videos.list item with snippet, statistics and contentDetails; `statistics: null` omits them. */
export function videoResource(
    id: string,
    channel: string,
    o: {
        title?: string;
        description?: string;
        statistics?: Json | null;
        snippet?: Json;
        contentDetails?: Json;
        index?: number;
    } = {},
): VideoResource {
    const i = o.index ?? 0;
    const res: VideoResource = {
        kind: "youtube#video",
        etag: `etag-${id}`,
        id,
        snippet: {
            publishedAt: new Date(Date.UTC(2024, 0, 1) + i * 3_600_000).toISOString().replace(".000Z", "Z"),
            channelId: channel,
            title: o.title ?? `Video ${id}`,
            description: o.description ?? `Description of ${id}`,
            thumbnails: {
                default: { url: `https://i.ytimg.example/vi/${id}/default.jpg` },
                high: { url: `https://i.ytimg.example/vi/${id}/hqdefault.jpg` },
            },
            channelTitle: `Channel ${channel}`,
            tags: ["tag", `t${i % 7}`],
            categoryId: "22",
            liveBroadcastContent: "none",
            defaultAudioLanguage: "ja",
            ...o.snippet,
        },
        contentDetails: {
            duration: `PT${(i % 50) + 1}M${i % 60}S`,
            dimension: "2d",
            definition: "hd",
            caption: "false",
            licensedContent: true,
            ...o.contentDetails,
        },
    };
    if (o.statistics !== null) {
        res.statistics = o.statistics ?? {
            viewCount: String(1000 + i),
            likeCount: String(10 + (i % 100)),
            favoriteCount: "0",
            commentCount: String(i % 17),
        };
    }
    return res;
}

/** A channel whose uploads playlist lists `ids` (use with addVideo for each resource). */
export function fakeChannel(resource: Json, ids: string[]): FakeChannel {
    return { resource, playlist: { count: ids.length, idAt: (i) => ids[i] } };
}
