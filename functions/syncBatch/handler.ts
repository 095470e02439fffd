/**
 * sync-batch: channels.list → playlistItems.list (50 per page) → videos.list (50 ids per call),
 * rows streamed as CSV into COPY on staging tables, then upserted into youtube_channels,
 * youtube_videos and the day's youtube_video_stats snapshot in one transaction.
 *
 * A run that hits the YouTube quota (or its own quota budget, or the Lambda deadline) stops
 * fetching and publishes what it loaded. An error that concerns one channel only (a closed
 * channel, an inaccessible playlist, an invalidPageToken that a restart of the walk did not cure:
 * youtube.ts, CHANNEL_SCOPED_REASONS) skips that channel: the others are published, the run
 * ends `partial` with the reasons in its run record, and the partial-run alarm fires. Any other
 * failure (an invalid key, a database error, …) publishes nothing and throws, so the Errors
 * alarm fires and the previous data stays intact.
 */
import type { Client } from "pg";
import { CHANNEL_ID } from "./constants";
import {
    CHANNEL_STAGING,
    ChannelWalk,
    copyAll,
    createStaging,
    openCopy,
    publish,
    recordRun,
    RunOutcome,
    RunRecord,
    SkippedChannel,
    TruncatedChannel,
    VIDEO_STAGING,
} from "./load";
import type { Logger } from "./log";
import { migrate } from "./migrations";
import { Cell, CHANNEL_COLUMNS, channelRow, JsonObject, obj, parseCount, VIDEO_COLUMNS, videoRow } from "./rows";
import { SecretGetter, secretValue } from "./secrets";
import {
    channelScopedReason,
    createYouTubeClient,
    PAGE_SIZE,
    QuotaExhaustedError,
    RetryPolicy,
    UPLOADS_PAGING_CAP,
    YOUTUBE_API_BASE_URL,
} from "./youtube";

/** Business time zone of the seed: the snapshot date is the JST calendar date. */
export const DEFAULT_TIME_ZONE = "Asia/Tokyo";
/** Time kept back from the Lambda timeout for the final COPY and upsert transaction. */
export const DEFAULT_DEADLINE_MARGIN_MS = 90_000;
/** Session advisory lock held for a whole run: a manual run never overlaps a scheduled one. */
const RUN_LOCK_KEY = 0x59_54_53_59; // "YTSY"

export interface SyncDeps {
    /** Opens a connection to the sync database with the password read from Secrets Manager. */
    connect(password: string): Promise<Client>;
    /** Returns a secret's SecretString. */
    getSecret: SecretGetter;
    /** Secret holding the DB password (plain, or RDS-style JSON with `password`). */
    dbPasswordSecretId: string;
    /** Secret holding the YouTube Data API key (plain, or JSON with `apiKey` / `YOUTUBE_API_KEY`). */
    youtubeApiKeySecretId: string;
    /** @default https://www.googleapis.com/youtube/v3 */
    youtubeBaseUrl?: string;
    fetch?: typeof fetch;
    /** Clock. @default () => new Date() */
    now?: () => Date;
    sleep?: (ms: number) => Promise<void>;
    logger: Logger;
    /** Channels always synced, in addition to `youtube_channels` rows with sync_enabled. */
    channelIds?: readonly string[];
    /** YouTube quota units one run may spend. @default 10000 */
    quotaBudget?: number;
    /** Time zone whose calendar date labels the stats snapshot. @default Asia/Tokyo */
    timeZone?: string;
    retry?: RetryPolicy;
    /** @default 90000 */
    deadlineMarginMs?: number;
    /** Backoff jitter source. @default Math.random */
    random?: () => number;
}

/** What EventBridge delivers: a schedule ("Scheduled Event") or the manual trigger. */
export interface SyncEvent {
    readonly source?: string;
    readonly "detail-type"?: string;
    /** Manual runs may name the channels to sync: `{ "channelIds": ["UC…"] }`. */
    readonly detail?: { readonly channelIds?: unknown } | null;
}

/** The subset of the Lambda context the handler uses. */
export interface SyncContext {
    getRemainingTimeInMillis?(): number;
    readonly awsRequestId?: string;
}

/**
 * `partial`: every channel was walked or skipped, and at least one was skipped for an error that
 * concerns only that channel (see `skippedChannels`). The quota and deadline statuses win over
 * `partial`; their runs list skipped channels too.
 */
export type SyncStatus =
    "completed" | "partial" | "quota_exhausted" | "quota_budget" | "deadline" | "no_channels" | "skipped_running";

/** Logged (WARN) by every run that skipped a channel; the partial-run alarm counts these lines. */
export const PARTIAL_RUN_LOG_MESSAGE = "sync partial: channels skipped";

export interface SyncResult {
    readonly status: SyncStatus;
    readonly trigger: "schedule" | "manual" | "direct";
    readonly snapshotDate: string;
    readonly channels: number;
    readonly videos: number;
    readonly videosChanged: number;
    readonly snapshots: number;
    /** Playlist entries videos.list did not return (deleted or private videos). */
    readonly unavailableVideos: number;
    /** Requested channels channels.list did not return. */
    readonly missingChannels: string[];
    /** Channels whose videos were not refreshed because of an error that concerns only them. */
    readonly skippedChannels: readonly SkippedChannel[];
    /** Channels whose uploads playlist listed fewer videos than their statistics.videoCount. */
    readonly truncatedChannels: readonly TruncatedChannel[];
    readonly quotaUnits: number;
    readonly quotaCalls: { channels: number; playlistItems: number; videos: number };
    readonly retries: number;
    readonly runId?: number;
    readonly durationMs: number;
}

/** Calendar date (YYYY-MM-DD) of `at` in `timeZone`. */
export function calendarDate(at: Date, timeZone: string): string {
    const parts = new Intl.DateTimeFormat("en-CA", {
        timeZone,
        year: "numeric",
        month: "2-digit",
        day: "2-digit",
    }).formatToParts(at);
    const get = (t: string) => parts.find((p) => p.type === t)?.value;
    return `${get("year")}-${get("month")}-${get("day")}`;
}

/** Throws a message naming the bad ids and the fix; returns the ids, de-duplicated, in order. */
export function checkChannelIds(ids: readonly unknown[], where: string): string[] {
    const bad = ids.filter((id) => typeof id !== "string" || !CHANNEL_ID.test(id));
    if (bad.length > 0) {
        throw new Error(
            `${where}: invalid YouTube channel id${bad.length === 1 ? "" : "s"} ` +
                `${bad.map((b) => JSON.stringify(b)).join(", ")}; ` +
                'expected "UC" followed by 22 letters, digits, "-" or "_" ' +
                "(the id in https://www.youtube.com/channel/<id>)",
        );
    }
    return [...new Set(ids as string[])];
}

function triggerOf(event: SyncEvent | undefined): SyncResult["trigger"] {
    if (event?.source === "aws.events" && event["detail-type"] === "Scheduled Event") return "schedule";
    if (event?.source === "batch-scheduler") return "manual";
    return "direct";
}

class DeadlineReached extends Error {
    constructor() {
        super("Lambda deadline reached");
        this.name = "DeadlineReached";
    }
}

/** Builds the Lambda handler. Nothing here reads the environment: `deps` carries everything. */
export function makeSyncHandler(deps: SyncDeps): (event: SyncEvent, context?: SyncContext) => Promise<SyncResult> {
    const configured = checkChannelIds(deps.channelIds ?? [], "sync-batch channel configuration (YOUTUBE_CHANNEL_IDS)");
    const now = deps.now ?? (() => new Date());
    const timeZone = deps.timeZone ?? DEFAULT_TIME_ZONE;
    const margin = deps.deadlineMarginMs ?? DEFAULT_DEADLINE_MARGIN_MS;
    const baseLog = deps.logger;

    return async function handler(event, context) {
        const startedAt = now();
        const trigger = triggerOf(event);
        const log = baseLog;
        const snapshotDate = calendarDate(startedAt, timeZone);
        const remaining = context?.getRemainingTimeInMillis?.();
        const deadline = remaining === undefined ? Infinity : startedAt.getTime() + remaining - margin;
        const requested = event?.detail?.channelIds;
        if (requested !== undefined && !Array.isArray(requested)) {
            throw new Error(
                `manual trigger detail.channelIds must be a list of channel ids, got ${JSON.stringify(requested)}; ` +
                    `send Detail='{"channelIds":["UC…"]}' or omit it to sync every channel`,
            );
        }
        const manualIds =
            requested === undefined ? undefined : checkChannelIds(requested, "manual trigger detail.channelIds");
        log.info("sync started", { trigger, snapshotDate, requestId: context?.awsRequestId });

        const [dbSecret, ytSecret] = await Promise.all([
            deps.getSecret(deps.dbPasswordSecretId),
            deps.getSecret(deps.youtubeApiKeySecretId),
        ]);
        const password = secretValue(deps.dbPasswordSecretId, dbSecret, ["password"]);
        const apiKey = secretValue(deps.youtubeApiKeySecretId, ytSecret, [
            "apiKey",
            "YOUTUBE_API_KEY",
            "api_key",
            "key",
        ]);
        const youtube = createYouTubeClient({
            apiKey,
            baseUrl: deps.youtubeBaseUrl ?? YOUTUBE_API_BASE_URL,
            fetch: deps.fetch,
            sleep: deps.sleep,
            logger: log,
            retry: deps.retry,
            quotaBudget: deps.quotaBudget,
            random: deps.random,
        });

        const client = await deps.connect(password);
        let stage = "migrate";
        try {
            const applied = await migrate(client);
            if (applied.length > 0) log.info("schema migrated", { versions: applied });
            const locked = await client.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1) AS ok", [RUN_LOCK_KEY]);
            if (!locked.rows[0].ok) {
                log.warn("another sync run holds the lock; skipping this one", { trigger });
                return summary("skipped_running");
            }

            stage = "list channels";
            let channelIds = manualIds;
            if (channelIds === undefined) {
                const { rows } = await client.query<{ channel_id: string }>(
                    "SELECT channel_id FROM youtube_channels WHERE sync_enabled ORDER BY channel_id",
                );
                channelIds = [...new Set([...configured, ...rows.map((r) => r.channel_id)])];
            }
            if (channelIds.length === 0) {
                log.warn("no channels to sync: set YOUTUBE_CHANNEL_IDS or insert rows into youtube_channels", {});
                const runId = await recordRun(client, record("no_channels"));
                return summary("no_channels", { runId });
            }

            await createStaging(client);
            let status: SyncStatus = "completed";
            const stop = (err: unknown): boolean => {
                if (err instanceof QuotaExhaustedError) {
                    status = (err as { reason?: string }).reason === "budget" ? "quota_budget" : "quota_exhausted";
                    log.warn("stopping early: YouTube quota", {
                        reason: (err as { reason?: string }).reason,
                        error: err.message,
                        quotaUnits: youtube.quota.units,
                    });
                    return true;
                }
                if (err instanceof DeadlineReached) {
                    status = "deadline";
                    log.warn("stopping early: Lambda deadline near, publishing what was loaded", {
                        quotaUnits: youtube.quota.units,
                    });
                    return true;
                }
                return false;
            };
            const checkDeadline = () => {
                if (now().getTime() >= deadline) throw new DeadlineReached();
            };

            // Channel metadata and statistics, 50 ids per call.
            stage = "channels.list";
            const channelItems: JsonObject[] = [];
            try {
                for (let i = 0; i < channelIds.length; i += PAGE_SIZE) {
                    checkDeadline();
                    channelItems.push(...(await youtube.channels(channelIds.slice(i, i + PAGE_SIZE))));
                }
            } catch (err) {
                if (!stop(err)) throw err;
            }
            const found = new Map<string, JsonObject>();
            for (const item of channelItems) if (typeof item.id === "string") found.set(item.id, item);
            const missingChannels = channelIds.filter((id) => !found.has(id));
            if (missingChannels.length > 0 && status === "completed") {
                log.warn("channels not returned by channels.list (deleted, terminated or mistyped)", {
                    channelIds: missingChannels,
                });
            }
            await copyAll(client, CHANNEL_STAGING, CHANNEL_COLUMNS, [...found.values()].map(channelRow));

            // Videos: walk each uploads playlist; never search.list (see youtube.ts). An error that
            // concerns one channel skips that channel and the run goes on with the others.
            stage = "videos";
            let unavailable = 0;
            const videos = openCopy(client, VIDEO_STAGING, VIDEO_COLUMNS);
            const seen = new Set<string>();
            const skipped: SkippedChannel[] = [];
            const truncated: TruncatedChannel[] = [];
            const walks: ChannelWalk[] = [];
            try {
                if (status === "completed") {
                    for (const [channelId, item] of found) {
                        const uploads = obj(obj(item.contentDetails).relatedPlaylists).uploads;
                        if (typeof uploads !== "string" || uploads === "") {
                            log.warn("channel has no uploads playlist", { channelId });
                            continue;
                        }
                        // Playlist entries this walk listed, deleted and private videos included.
                        const listed = new Set<string>();
                        let notFound = false;
                        const walk = async () => {
                            let token: string | undefined;
                            do {
                                checkDeadline();
                                const page = await youtube.playlistPage(uploads, token);
                                if (page.notFound) {
                                    notFound = true;
                                    log.warn("uploads playlist not found; treating the channel as having no videos", {
                                        channelId,
                                        playlistId: uploads,
                                    });
                                }
                                for (const id of page.videoIds) listed.add(id);
                                const ids = page.videoIds.filter((id) => !seen.has(id));
                                for (const id of ids) seen.add(id);
                                if (ids.length > 0) {
                                    const items = await youtube.videos(ids);
                                    const rows: Cell[][] = [];
                                    for (const v of items)
                                        if (typeof v.id === "string") rows.push(videoRow(v, channelId));
                                    unavailable += ids.length - rows.length;
                                    await videos.write(rows);
                                }
                                token = page.nextPageToken;
                            } while (token !== undefined);
                        };
                        try {
                            try {
                                await walk();
                            } catch (err) {
                                if (channelScopedReason(err) !== "invalidPageToken") throw err;
                                // Valid uploads-playlist tokens have been refused intermittently (youtube.ts,
                                // CHANNEL_SCOPED_REASONS): walk once more from the first page. Videos already
                                // staged are not fetched again.
                                log.warn("invalidPageToken on an uploads playlist; restarting its walk once", {
                                    channelId,
                                    playlistId: uploads,
                                    error: (err as Error).message,
                                });
                                await walk();
                            }
                        } catch (err) {
                            const reason = channelScopedReason(err);
                            if (reason === undefined) throw err;
                            skipped.push({ channelId, reason, error: (err as Error).message });
                            log.warn("channel skipped: its videos are not refreshed this run", {
                                channelId,
                                reason,
                                error: (err as Error).message,
                            });
                            continue;
                        }
                        const videoCount = Number(parseCount(obj(item.statistics).videoCount) ?? NaN);
                        const short = !notFound && Number.isFinite(videoCount) && listed.size < videoCount;
                        if (short) {
                            truncated.push({ channelId, videoCount, listed: listed.size });
                            log.warn("uploads playlist listed fewer videos than the channel's videoCount", {
                                channelId,
                                videoCount,
                                listed: listed.size,
                                uploadsPagingCap: UPLOADS_PAGING_CAP,
                            });
                        }
                        walks.push({ channelId, complete: !short });
                    }
                }
            } catch (err) {
                if (!stop(err)) {
                    await videos.abort(err as Error);
                    throw err;
                }
            }
            await videos.end();

            if (status === "completed" && skipped.length > 0) status = "partial";
            if (skipped.length > 0) {
                // The partial-run alarm's metric filter matches this line (components/syncScheduler.ts).
                log.warn(PARTIAL_RUN_LOG_MESSAGE, { skippedChannels: skipped.map((c) => c.channelId) });
            }
            stage = "publish";
            const outcome = { unavailableVideos: unavailable, skippedChannels: skipped, truncatedChannels: truncated };
            const published = await publish(client, { ...record(status, outcome), walks });
            return summary(status, { ...published, ...outcome, missingChannels });
        } catch (err) {
            const message = `sync failed during ${stage}: ${(err as Error).message}`;
            log.error("sync failed; published data left unchanged", {
                stage,
                error: (err as Error).message,
                quotaUnits: youtube.quota.units,
            });
            // Best effort: the run record must never hide the original error.
            await recordRun(client, record("failed", {}, message)).catch(() => undefined);
            throw new Error(message, { cause: err });
        } finally {
            await client.end().catch(() => undefined);
        }

        function record(status: string, outcome: Partial<RunOutcome> = {}, error?: string): RunRecord {
            return {
                startedAt,
                finishedAt: now(),
                trigger,
                status,
                snapshotDate,
                unavailableVideos: outcome.unavailableVideos ?? 0,
                skippedChannels: outcome.skippedChannels ?? [],
                truncatedChannels: outcome.truncatedChannels ?? [],
                quotaUnits: youtube.quota.units,
                error,
            };
        }

        function summary(
            status: SyncStatus,
            o: Partial<RunOutcome & { channels: number; videos: number; videosChanged: number; snapshots: number }> & {
                missingChannels?: string[];
                runId?: number;
            } = {},
        ): SyncResult {
            const result: SyncResult = {
                status,
                trigger,
                snapshotDate,
                channels: o.channels ?? 0,
                videos: o.videos ?? 0,
                videosChanged: o.videosChanged ?? 0,
                snapshots: o.snapshots ?? 0,
                unavailableVideos: o.unavailableVideos ?? 0,
                missingChannels: o.missingChannels ?? [],
                skippedChannels: o.skippedChannels ?? [],
                truncatedChannels: o.truncatedChannels ?? [],
                quotaUnits: youtube.quota.units,
                quotaCalls: { ...youtube.quota.calls },
                retries: youtube.quota.retries,
                runId: o.runId,
                durationMs: now().getTime() - startedAt.getTime(),
            };
            log.info("sync finished", { ...result });
            return result;
        }
    };
}
