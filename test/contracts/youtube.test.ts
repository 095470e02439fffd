/**
 * Contract of the YouTube Data API v3 stand-in (test/support/youtubeServer.ts): one row per
 * behaviour functions/syncBatch can meet, each with the answer the real API gives and where that
 * answer comes from. The stand-in must pass every row. Add new behaviour here first, then to the
 * stand-in.
 *
 * Sources (short names used in the rows):
 *   errors        https://developers.google.com/youtube/v3/docs/errors
 *   pli           https://developers.google.com/youtube/v3/docs/playlistItems/list
 *   videos        https://developers.google.com/youtube/v3/docs/videos/list
 *   channels      https://developers.google.com/youtube/v3/docs/channels/list
 *   paging        https://developers.google.com/youtube/v3/guides/implementation/pagination
 *   quota         https://developers.google.com/youtube/v3/determine_quota_cost
 */
import { strict as assert } from "assert";
import {
    channelId,
    channelResource,
    fakeChannel,
    Json,
    startYouTubeServer,
    videoId,
    videoResource,
    YouTubeServer,
} from "../support/youtubeServer";

const KEY = "AIza-contract-key";
const CH = channelId("contract");
const UPLOADS = `UU${CH.slice(2)}`;
const BIG = channelId("contractbig");
const BIG_UPLOADS = `UU${BIG.slice(2)}`;
const IDS = Array.from({ length: 60 }, (_, i) => videoId(`k${i}`));

interface Row {
    /** What the row pins, in words. */
    readonly rule: string;
    /** Where the expected answer comes from. */
    readonly source: string;
    readonly endpoint: string;
    /** Query parameters; `key` is the valid key unless given. */
    readonly params: Record<string, string>;
    /** Prepares the stand-in (faults, quota) just before the request. */
    readonly setup?: (yt: YouTubeServer) => void;
    readonly status: number;
    /** A subset the answer must contain (objects by key, arrays element by element). */
    readonly body?: Json;
    /** Top-level keys the answer must not have. */
    readonly absent?: readonly string[];
    /** Further checks on the parsed answer. */
    readonly check?: (body: Json) => void;
}

const error = (code: number, reason: string, more: Json = {}, errorMore: Json = {}): Json => ({
    error: { code, errors: [{ reason, ...errorMore }], ...more },
});

const ROWS: readonly Row[] = [
    {
        rule: "channels.list by id returns the channel with the parts asked for",
        source: "channels (part, id)",
        endpoint: "channels",
        params: { part: "snippet,contentDetails,statistics", id: CH },
        status: 200,
        body: {
            kind: "youtube#channelListResponse",
            items: [{ id: CH, contentDetails: { relatedPlaylists: { uploads: UPLOADS } } }],
        },
    },
    {
        rule: "channels.list for unknown or terminated ids answers 200 with no items key",
        source: "medialab/minet#753; Elijas/auto-youtube-subscription-playlist-2#109",
        endpoint: "channels",
        params: { part: "snippet", id: channelId("nosuchchannel") },
        status: 200,
        body: { pageInfo: { totalResults: 0, resultsPerPage: 5 } },
        absent: ["items"],
    },
    {
        rule: "a request without part is refused: 400 required",
        source: "youtube/api-samples#162 and #262 (real answers)",
        endpoint: "videos",
        params: { id: IDS[0] },
        status: 400,
        body: error(400, "required", { message: "Required parameter: part" }, { domain: "global", location: "part" }),
    },
    {
        rule: "a part the resource lacks is refused: 400 unknownPart, domain youtube.part",
        source: "madcoda/php-youtube-api#80 (invideoPromotion removed); googleapis/google-api-php-client#1777",
        endpoint: "channels",
        params: { part: "snippet,invideoPromotion", id: CH },
        status: 400,
        body: error(400, "unknownPart", { message: "invideoPromotion" }, { domain: "youtube.part" }),
    },
    {
        rule: "videos.list refuses maxResults with id (documented unsupported; the stand-in is stricter than the API)",
        source: 'videos (maxResults: "not supported for use in conjunction with the id parameter"); errors',
        endpoint: "videos",
        params: { part: "snippet", id: IDS[0], maxResults: "50" },
        status: 400,
        body: error(400, "incompatibleParameters"),
    },
    {
        rule: "videos.list leaves out deleted and private videos without an error",
        source: "videos (id: the list of ids of the resources being retrieved)",
        endpoint: "videos",
        params: { part: "snippet,statistics", id: `${IDS[0]},${videoId("gone")}` },
        status: 200,
        check: (b) =>
            assert.deepEqual(
                (b.items as Json[]).map((i) => i.id),
                [IDS[0]],
            ),
    },
    {
        rule: "playlistItems.list pages by 50 with an opaque nextPageToken",
        source: "pli (maxResults 0 to 50); paging",
        endpoint: "playlistItems",
        params: { part: "contentDetails", playlistId: UPLOADS, maxResults: "50" },
        status: 200,
        check: (b) => {
            assert.equal((b.items as Json[]).length, 50);
            assert.equal(typeof b.nextPageToken, "string");
        },
    },
    {
        rule: "an unknown playlist is 404 playlistNotFound",
        source: "pli (errors: notFound (404) playlistNotFound)",
        endpoint: "playlistItems",
        params: { part: "contentDetails", playlistId: "UUnosuchplaylistnosuchpl" },
        status: 404,
        body: error(404, "playlistNotFound"),
    },
    {
        rule: "a page token the API never issued is 400 invalidPageToken",
        source: "errors (badRequest (400) invalidPageToken)",
        endpoint: "playlistItems",
        params: { part: "contentDetails", playlistId: UPLOADS, pageToken: "bm90LWEtdG9rZW4" },
        status: 400,
        body: error(400, "invalidPageToken", { message: "The request specifies an invalid page token." }),
    },
    {
        rule: "an invalid key is 400 badRequest, status INVALID_ARGUMENT, ErrorInfo API_KEY_INVALID",
        source: "gabe565/CastSponsorSkip#66 (2024); keyInvalid is the pre-2020 body (alaouy/YouTube#101)",
        endpoint: "channels",
        params: { part: "snippet", id: CH, key: "not-the-key" },
        status: 400,
        body: error(
            400,
            "badRequest",
            {
                message: "API key not valid. Please pass a valid API key.",
                status: "INVALID_ARGUMENT",
                details: [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "API_KEY_INVALID" }],
            },
            { domain: "global" },
        ),
    },
    {
        rule: "a spent daily quota is 403 quotaExceeded in domain youtube.quota",
        source: "errors (quotaExceeded (403)); Stekeblad/Stekeblads-Video-Uploader#13, ShareX/ShareX#4477",
        endpoint: "videos",
        params: { part: "snippet", id: IDS[0] },
        setup: (yt) => yt.exhaustQuotaAfter(0),
        status: 403,
        body: error(403, "quotaExceeded", {}, { domain: "youtube.quota" }),
    },
    ...(
        [
            ["channelClosed", "The channel identified in the request has been closed."],
            ["channelSuspended", "The channel identified in the request has been suspended."],
            ["forbidden", "Access forbidden. The request may not be properly authorized."],
        ] as const
    ).map(([reason, message]): Row => ({
        rule: `a ${reason} channel's playlist is 403 ${reason}`,
        source: "errors (Core API errors; Common request errors)",
        endpoint: "playlistItems",
        params: { part: "contentDetails", playlistId: UPLOADS },
        setup: (yt) => yt.failNext(1, { status: 403, reason, playlistId: UPLOADS }),
        status: 403,
        body: error(403, reason, { message }),
    })),
    {
        rule: "a playlist the caller may not read is 403 playlistItemsNotAccessible",
        source: "pli (errors: forbidden (403) playlistItemsNotAccessible)",
        endpoint: "playlistItems",
        params: { part: "contentDetails", playlistId: UPLOADS },
        setup: (yt) => yt.failNext(1, { status: 403, reason: "playlistItemsNotAccessible" }),
        status: 403,
        body: error(403, "playlistItemsNotAccessible"),
    },
    {
        rule: "a back-end failure is 5xx backendError",
        source: "Google APIs' generic backendError, as real 5xx answers carry it (not on the YouTube errors page)",
        endpoint: "videos",
        params: { part: "snippet", id: IDS[0] },
        setup: (yt) => yt.failNext(1, { status: 503 }),
        status: 503,
        body: error(503, "backendError"),
    },
    {
        rule: "search.list is not served: the sync must never call it (a guard, not an API rule)",
        source: "functions/syncBatch/youtube.ts header (quota)",
        endpoint: "search",
        params: { part: "snippet", q: "x" },
        status: 404,
    },
];

/** Whether `actual` contains `expected`: objects key by key, arrays element by element. */
function contains(actual: unknown, expected: unknown, path = "body"): void {
    if (expected !== null && typeof expected === "object") {
        assert.ok(actual !== null && typeof actual === "object", `${path}: expected an object, got ${String(actual)}`);
        for (const [k, v] of Object.entries(expected)) contains((actual as Json)[k], v, `${path}.${k}`);
        return;
    }
    assert.deepEqual(actual, expected, path);
}

describe("YouTube Data API v3 stand-in contract", function () {
    this.timeout(60000);
    let yt: YouTubeServer;

    before(async () => {
        yt = await startYouTubeServer({ apiKey: KEY });
        yt.addChannel(fakeChannel(channelResource(CH), IDS));
        IDS.forEach((id, i) => yt.addVideo(videoResource(id, CH, { index: i })));
        const big = 20_100;
        yt.addChannel({
            resource: channelResource(BIG, { statistics: { videoCount: String(big), viewCount: "1" } }),
            playlist: { count: big, idAt: (i) => videoId(`b${i}`) },
        });
    });
    after(() => yt.close());
    beforeEach(() => {
        yt.resetLog();
        yt.exhaustQuotaAfter(undefined);
    });

    for (const row of ROWS) {
        it(`${row.rule} [${row.source}]`, async () => {
            row.setup?.(yt);
            const q = new URLSearchParams({ key: KEY, ...row.params });
            const res = await fetch(`${yt.baseUrl}/${row.endpoint}?${q.toString()}`);
            const body = (await res.json()) as Json;
            assert.equal(res.status, row.status, JSON.stringify(body));
            if (row.body) contains(body, row.body);
            for (const key of row.absent ?? []) assert.ok(!(key in body), `${key} present in ${JSON.stringify(body)}`);
            row.check?.(body);
        });
    }

    // One row that needs a walk rather than a request.
    it(
        "an uploads playlist stops paging at 20,000 items, newest first " +
            "[mattwright324/youtube-metadata#177, maintainer, 2024; not in Google's documentation]",
        async () => {
            const listed: string[] = [];
            let token: string | undefined;
            do {
                const q = new URLSearchParams({ key: KEY, part: "contentDetails", playlistId: BIG_UPLOADS });
                q.set("maxResults", "50");
                if (token) q.set("pageToken", token);
                const body = (await (await fetch(`${yt.baseUrl}/playlistItems?${q.toString()}`)).json()) as Json;
                for (const it of body.items as { contentDetails: { videoId: string } }[])
                    listed.push(it.contentDetails.videoId);
                token = body.nextPageToken as string | undefined;
            } while (token);
            assert.equal(listed.length, 20_000);
            assert.equal(listed[0], videoId("b0"));
            assert.equal(listed[19_999], videoId("b19999"));
        },
    );
});
