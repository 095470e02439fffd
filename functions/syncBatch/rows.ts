/**
 * Maps YouTube Data API resources to the flat rows staged with COPY. Everything the API may
 * omit or send oddly (hidden counts, missing snippets, NUL characters, malformed dates) becomes
 * NULL or is cleaned here, so one odd video can never make PostgreSQL reject the whole COPY.
 */

/** A staged value: text PostgreSQL parses into the column type, or NULL. */
export type Cell = string | null;

export const CHANNEL_COLUMNS = [
    "channel_id",
    "title",
    "description",
    "custom_url",
    "country",
    "published_at",
    "thumbnail_url",
    "uploads_playlist_id",
    "subscriber_count",
    "hidden_subscriber_count",
    "view_count",
    "video_count",
] as const;

export const VIDEO_COLUMNS = [
    "video_id",
    "channel_id",
    "title",
    "description",
    "published_at",
    "duration",
    "duration_seconds",
    "category_id",
    "tags",
    "default_language",
    "live_broadcast_content",
    "definition",
    "caption",
    "thumbnail_url",
    "view_count",
    "like_count",
    "comment_count",
] as const;

/** PostgreSQL text cannot hold U+0000; the API occasionally returns it in descriptions. */
export function cleanText(v: unknown): Cell {
    if (typeof v !== "string") return null;
    return v.includes("\u0000") ? v.replaceAll("\u0000", "") : v;
}

/** Counts arrive as decimal strings; anything else (absent, hidden, garbage) is NULL. */
export function parseCount(v: unknown): Cell {
    if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return String(v);
    if (typeof v !== "string" || !/^\d{1,18}$/.test(v)) return null;
    return v;
}

/**
 * RFC 3339 timestamps from the API, normalized to UTC. Malformed ones (including dates such as
 * Feb 30 that JavaScript rolls over but PostgreSQL rejects) become NULL instead of failing the COPY.
 */
export function parseTimestamp(v: unknown): Cell {
    if (typeof v !== "string") return null;
    const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.exec(v);
    if (!m) return null;
    const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
    const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
    if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59) return null;
    const t = Date.parse(v);
    return Number.isNaN(t) ? null : new Date(t).toISOString();
}

/**
 * ISO 8601 duration (`PT1H2M3S`, `P1DT2H`, `P0D`) to whole seconds; NULL when not parseable.
 * YouTube never uses years or months for video durations, so those are rejected.
 */
export function durationSeconds(v: unknown): Cell {
    if (typeof v !== "string") return null;
    const m = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(v);
    if (!m || v === "P" || v.endsWith("T")) return null;
    const [, w, d, h, min, s] = m.map((x) => (x === undefined ? 0 : Number(x)));
    const total = Math.floor(w * 604800 + d * 86400 + h * 3600 + min * 60 + s);
    return total <= 2147483647 ? String(total) : null;
}

function bool(v: unknown): Cell {
    if (v === true || v === "true") return "t";
    if (v === false || v === "false") return "f";
    return null;
}

/** A JSON object as parsed: every field is checked before use. */
export type JsonObject = Record<string, unknown>;

export function isJsonObject(v: unknown): v is JsonObject {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** `v` when it is a JSON object, else an empty one, so nested fields read as undefined. */
export function obj(v: unknown): JsonObject {
    return isJsonObject(v) ? v : {};
}

/** Largest thumbnail the resource offers. */
function thumbnail(snippet: JsonObject): Cell {
    const t = obj(snippet.thumbnails);
    for (const size of ["maxres", "standard", "high", "medium", "default"]) {
        const url = obj(t[size]).url;
        if (typeof url === "string") return cleanText(url);
    }
    return null;
}

/** A `channels.list` item → staged channel row (values in CHANNEL_COLUMNS order). */
export function channelRow(item: JsonObject): Cell[] {
    const snippet = obj(item.snippet);
    const stats = obj(item.statistics);
    const hidden = stats.hiddenSubscriberCount === true;
    return [
        cleanText(item.id),
        cleanText(snippet.title),
        cleanText(snippet.description),
        cleanText(snippet.customUrl),
        cleanText(snippet.country),
        parseTimestamp(snippet.publishedAt),
        thumbnail(snippet),
        cleanText(obj(obj(item.contentDetails).relatedPlaylists).uploads),
        hidden ? null : parseCount(stats.subscriberCount),
        "hiddenSubscriberCount" in stats ? bool(stats.hiddenSubscriberCount) : null,
        parseCount(stats.viewCount),
        parseCount(stats.videoCount),
    ];
}

/**
 * A `videos.list` item → staged video row (values in VIDEO_COLUMNS order). `channelId` is the
 * channel whose uploads playlist listed the video, so the row always references a channel
 * staged in the same run.
 */
export function videoRow(item: JsonObject, channelId: string): Cell[] {
    const snippet = obj(item.snippet);
    const stats = obj(item.statistics);
    const details = obj(item.contentDetails);
    const tags = Array.isArray(snippet.tags)
        ? snippet.tags.filter((t: unknown) => typeof t === "string").map(cleanText)
        : null;
    return [
        cleanText(item.id),
        channelId,
        cleanText(snippet.title),
        cleanText(snippet.description),
        parseTimestamp(snippet.publishedAt),
        cleanText(details.duration),
        durationSeconds(details.duration),
        cleanText(snippet.categoryId),
        tags === null ? null : JSON.stringify(tags),
        cleanText(snippet.defaultLanguage ?? snippet.defaultAudioLanguage),
        cleanText(snippet.liveBroadcastContent),
        cleanText(details.definition),
        bool(details.caption),
        thumbnail(snippet),
        parseCount(stats.viewCount),
        parseCount(stats.likeCount),
        parseCount(stats.commentCount),
    ];
}
