import { strict as assert } from "assert";
import {
    calendarDate,
    channelRow,
    CHANNEL_COLUMNS,
    checkChannelIds,
    cleanText,
    durationSeconds,
    parseCount,
    parseTimestamp,
    secretValue,
    syncDepsFromEnv,
    VIDEO_COLUMNS,
    videoRow,
} from "../../functions/syncBatch";
import { jsonLogger } from "../../functions/syncBatch/log";

describe("sync-batch row mapping", () => {
    const durations: [unknown, string | null][] = [
        ["PT1H2M3S", "3723"],
        ["PT45S", "45"],
        ["PT10M", "600"],
        ["P1DT2H", "93600"],
        ["P0D", "0"],
        ["PT0.5S", "0"],
        ["P1W", "604800"],
        ["P1Y", null],
        ["PT", null],
        ["P", null],
        ["1:00", null],
        [undefined, null],
    ];
    for (const [input, want] of durations) {
        it(`converts duration ${JSON.stringify(input)} to ${want}`, () => assert.equal(durationSeconds(input), want));
    }

    const counts: [unknown, string | null][] = [
        ["12345", "12345"],
        ["0", "0"],
        [42, "42"],
        ["-1", null],
        ["1e5", null],
        ["", null],
        [undefined, null],
        ["12345678901234567890", null],
    ];
    for (const [input, want] of counts) {
        it(`reads count ${JSON.stringify(input)} as ${want}`, () => assert.equal(parseCount(input), want));
    }

    it("normalizes RFC 3339 timestamps to UTC and drops malformed ones", () => {
        assert.equal(parseTimestamp("2024-05-01T12:34:56Z"), "2024-05-01T12:34:56.000Z");
        assert.equal(parseTimestamp("2024-05-01T12:34:56.123+09:00"), "2024-05-01T03:34:56.123Z");
        assert.equal(parseTimestamp("2024-02-30T00:00:00Z"), null);
        assert.equal(parseTimestamp("2024-02-29T00:00:00Z"), "2024-02-29T00:00:00.000Z");
        assert.equal(parseTimestamp("yesterday"), null);
        assert.equal(parseTimestamp("2024-13-45T99:00:00Z"), null);
    });

    it("strips NUL characters PostgreSQL text cannot hold and keeps everything else", () => {
        assert.equal(cleanText('a\u0000b, "c"\n😀'), 'ab, "c"\n😀');
        assert.equal(cleanText(""), "");
        assert.equal(cleanText(7), null);
    });

    it("maps a channel, leaving a hidden subscriber count NULL", () => {
        const row = channelRow({
            id: "UCaaaaaaaaaaaaaaaaaaaaaa",
            snippet: {
                title: "T",
                publishedAt: "2015-01-01T00:00:00Z",
                thumbnails: { default: { url: "d" }, high: { url: "h" } },
            },
            contentDetails: { relatedPlaylists: { uploads: "UUaaaaaaaaaaaaaaaaaaaaaa" } },
            statistics: { viewCount: "10", subscriberCount: "0", hiddenSubscriberCount: true, videoCount: "2" },
        });
        const rec = Object.fromEntries(CHANNEL_COLUMNS.map((c, i) => [c, row[i]]));
        assert.deepEqual(rec, {
            channel_id: "UCaaaaaaaaaaaaaaaaaaaaaa",
            title: "T",
            description: null,
            custom_url: null,
            country: null,
            published_at: "2015-01-01T00:00:00.000Z",
            thumbnail_url: "h",
            uploads_playlist_id: "UUaaaaaaaaaaaaaaaaaaaaaa",
            subscriber_count: null,
            hidden_subscriber_count: "t",
            view_count: "10",
            video_count: "2",
        });
    });

    it("maps a video without statistics or snippet to NULLs, never throwing", () => {
        const row = videoRow({ id: "abcdefghijk" }, "UCaaaaaaaaaaaaaaaaaaaaaa");
        const rec = Object.fromEntries(VIDEO_COLUMNS.map((c, i) => [c, row[i]]));
        assert.equal(rec.video_id, "abcdefghijk");
        assert.equal(rec.channel_id, "UCaaaaaaaaaaaaaaaaaaaaaa");
        for (const c of VIDEO_COLUMNS.filter((c) => c !== "video_id" && c !== "channel_id"))
            assert.equal(rec[c], null, c);
    });

    it("maps tags to a JSON array and caption to a boolean", () => {
        const row = videoRow(
            {
                id: "abcdefghijk",
                snippet: { tags: ["a,b", 'c"d', 3] },
                contentDetails: { caption: "true", duration: "PT1M" },
            },
            "UCx",
        );
        const rec = Object.fromEntries(VIDEO_COLUMNS.map((c, i) => [c, row[i]]));
        assert.equal(rec.tags, '["a,b","c\\"d"]');
        assert.equal(rec.caption, "t");
        assert.equal(rec.duration_seconds, "60");
    });
});

describe("sync-batch inputs", () => {
    it("labels the snapshot with the JST date, so the 15:00 UTC run counts as the next day", () => {
        assert.equal(calendarDate(new Date("2025-03-01T15:00:00Z"), "Asia/Tokyo"), "2025-03-02");
        assert.equal(calendarDate(new Date("2025-03-01T14:59:59Z"), "Asia/Tokyo"), "2025-03-01");
    });

    it("rejects malformed channel ids naming each one and the expected shape", () => {
        assert.throws(() => checkChannelIds(["UCaaaaaaaaaaaaaaaaaaaaaa", "@handle", 5], "config"), {
            message:
                'config: invalid YouTube channel ids "@handle", 5; expected "UC" followed by 22 letters, digits, "-" or "_" (the id in https://www.youtube.com/channel/<id>)',
        });
        assert.deepEqual(checkChannelIds(["UCaaaaaaaaaaaaaaaaaaaaaa", "UCaaaaaaaaaaaaaaaaaaaaaa"], "x"), [
            "UCaaaaaaaaaaaaaaaaaaaaaa",
        ]);
    });

    const secrets: [string, string, string[], string | RegExp][] = [
        ["plain", "  s3cret \n", ["password"], "s3cret"],
        ["RDS JSON", '{"username":"postgres","password":"pw"}', ["password"], "pw"],
        ["second field name", '{"YOUTUBE_API_KEY":"AIza"}', ["apiKey", "YOUTUBE_API_KEY"], "AIza"],
        [
            "JSON without the field",
            '{"username":"postgres","pass":"x"}',
            ["password"],
            'secret arn:s is a JSON object without a non-empty "password" field (it has: username, pass); add the field or store the plain value',
        ],
        [
            "broken JSON",
            '{"password": ',
            ["password"],
            'secret arn:s starts with "{" but is not valid JSON; store either the plain value or a JSON object with a "password" field',
        ],
    ];
    for (const [title, raw, fields, want] of secrets) {
        it(`reads a ${title} secret${typeof want === "string" && want.startsWith("secret") ? " with an error that never shows the value" : ""}`, () => {
            if (typeof want === "string" && want.startsWith("secret ")) {
                assert.throws(() => secretValue("arn:s", raw, fields), { message: want });
            } else {
                assert.equal(secretValue("arn:s", raw, fields), want);
            }
        });
    }

    const ENV = {
        DB_HOST: "db.internal",
        DB_NAME: "shirogane",
        DB_USERNAME: "postgres",
        DB_PASSWORD_SECRET_ARN: "arn:db",
        YOUTUBE_API_KEY_SECRET_ARN: "arn:yt",
    };
    const log = jsonLogger({}, () => undefined);
    const getSecret = () => Promise.resolve("x");

    it("reads the Lambda environment with production defaults", () => {
        const deps = syncDepsFromEnv(
            { ...ENV, YOUTUBE_CHANNEL_IDS: "UCaaaaaaaaaaaaaaaaaaaaaa, UCbbbbbbbbbbbbbbbbbbbbbb" },
            getSecret,
            log,
        );
        assert.equal(deps.dbPasswordSecretId, "arn:db");
        assert.equal(deps.youtubeApiKeySecretId, "arn:yt");
        assert.equal(deps.youtubeBaseUrl, "https://www.googleapis.com/youtube/v3");
        assert.equal(deps.quotaBudget, 10000);
        assert.deepEqual(deps.channelIds, ["UCaaaaaaaaaaaaaaaaaaaaaa", "UCbbbbbbbbbbbbbbbbbbbbbb"]);
    });

    const envErrors: [string, Record<string, string | undefined>, string][] = [
        [
            "a missing DB_HOST",
            { DB_HOST: undefined },
            "sync-batch: environment variable DB_HOST is not set; it is set by the SyncScheduler component, so redeploy the stack (pulumi up) rather than editing the function",
        ],
        ["a bad DB_PORT", { DB_PORT: "54x" }, 'sync-batch: DB_PORT must be a TCP port (1-65535), got "54x"'],
        [
            "an unknown DB_SSL_MODE",
            { DB_SSL_MODE: "prefer" },
            'sync-batch: DB_SSL_MODE must be one of verify-full, require, disable, got "prefer"',
        ],
        [
            "a bad quota budget",
            { YOUTUBE_QUOTA_BUDGET: "0" },
            'sync-batch: YOUTUBE_QUOTA_BUDGET must be a positive integer of quota units, got "0"',
        ],
    ];
    for (const [title, overrides, message] of envErrors) {
        it(`rejects ${title}`, () =>
            assert.throws(() => syncDepsFromEnv({ ...ENV, ...overrides }, getSecret, log), { message }));
    }
});
