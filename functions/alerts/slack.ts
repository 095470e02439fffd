/**
 * Slack notifier for an alerts topic: each SNS record becomes one Slack Incoming Webhook
 * message. CloudWatch alarm notifications are formatted (state change, reason, region, a link to
 * the alarm); anything else (spot-watch, hand-published messages) is passed through with its
 * subject. The webhook URL is read from Secrets Manager at cold start and never logged.
 *
 * Nothing is lost: a post that still fails after bounded retries (within a time budget under the
 * function's timeout) throws; SNS invokes the function asynchronously, so Lambda retries the
 * event twice and then the function's dead-letter queue keeps it.
 */
import type { Logger } from "../syncBatch/log";
import type { SecretGetter } from "../syncBatch/secrets";

export interface SnsRecord {
    readonly Sns: {
        readonly MessageId?: string;
        readonly TopicArn?: string;
        readonly Subject?: string | null;
        readonly Message: string;
        readonly Timestamp?: string;
    };
}

export interface SnsEvent {
    readonly Records?: readonly SnsRecord[];
}

/** The CloudWatch alarm notification fields the formatter uses. */
interface AlarmNotification {
    AlarmName: string;
    AlarmDescription?: string | null;
    NewStateValue: string;
    OldStateValue?: string;
    NewStateReason?: string;
    StateChangeTime?: string;
    AlarmArn?: string;
    Region?: string;
}

export interface SlackAttachment {
    color: string;
    title: string;
    title_link?: string;
    text: string;
    fields?: { title: string; value: string; short: boolean }[];
    footer?: string;
    ts?: number;
}

export interface SlackMessage {
    /** Notification and fallback text. */
    text: string;
    attachments: SlackAttachment[];
}

/** Slack accepts 40,000 characters of text; alerts stay readable far below that. */
const LIMITS = { title: 150, attachmentText: 3000, field: 500 };

const STATES: Record<string, { emoji: string; color: string }> = {
    ALARM: { emoji: ":rotating_light:", color: "#d00000" },
    OK: { emoji: ":white_check_mark:", color: "#2eb67d" },
    INSUFFICIENT_DATA: { emoji: ":grey_question:", color: "#9e9e9e" },
};

/**
 * Slack mrkdwn treats `&`, `<` and `>` as markup: escaped so text shows as sent, then cut to
 * `max` characters without leaving half an entity.
 */
const escape = (s: string, max: number) => {
    const escaped = s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
    return escaped.length <= max ? escaped : `${escaped.slice(0, max - 1).replace(/&[a-z]{0,3}$/, "")}…`;
};

const stateLabel = (state: string | undefined) =>
    state === undefined ? "?" : `${(STATES[state] ?? STATES.INSUFFICIENT_DATA).emoji} ${state}`;

/** The message as JSON, when it is a JSON object (Step Functions publishes objects); else undefined. */
function parseObject(message: string): Record<string, unknown> | undefined {
    if (!message.trimStart().startsWith("{")) return undefined;
    try {
        const v = JSON.parse(message) as unknown;
        return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
    } catch {
        return undefined;
    }
}

function parseAlarm(message: string): AlarmNotification | undefined {
    try {
        const m = JSON.parse(message) as Partial<AlarmNotification>;
        return typeof m?.AlarmName === "string" && typeof m.NewStateValue === "string"
            ? (m as AlarmNotification)
            : undefined;
    } catch {
        return undefined;
    }
}

/** The region code from an alarm ARN (`arn:aws:cloudwatch:<region>:…`). */
const regionOf = (arn: string | undefined) => arn?.split(":")[3] || undefined;

export function alarmConsoleUrl(region: string, alarmName: string): string {
    const home = `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}`;
    return `${home}#alarmsV2:alarm/${encodeURIComponent(alarmName)}`;
}

/** The Slack message for one SNS record. */
export function formatAlert(record: SnsRecord, environment: string): SlackMessage {
    const { Subject, Message, Timestamp, TopicArn } = record.Sns;
    const ts = Timestamp ? Math.floor(Date.parse(Timestamp) / 1000) : undefined;
    const alarm = parseAlarm(Message);
    if (alarm) {
        const state = STATES[alarm.NewStateValue] ?? STATES.INSUFFICIENT_DATA;
        const region = regionOf(alarm.AlarmArn) ?? regionOf(TopicArn);
        const fields = [
            {
                title: "State",
                value: `${stateLabel(alarm.OldStateValue)} → ${stateLabel(alarm.NewStateValue)}`,
                short: true,
            },
            { title: "Region", value: escape(region ?? alarm.Region ?? "unknown", LIMITS.field), short: true },
        ];
        if (alarm.AlarmDescription)
            fields.push({ title: "Description", value: escape(alarm.AlarmDescription, LIMITS.field), short: false });
        return {
            text: `${state.emoji} [${environment}] ${escape(alarm.AlarmName, LIMITS.title)} is ${alarm.NewStateValue}`,
            attachments: [
                {
                    color: state.color,
                    title: escape(alarm.AlarmName, LIMITS.title),
                    ...(region ? { title_link: alarmConsoleUrl(region, alarm.AlarmName) } : {}),
                    text: escape(alarm.NewStateReason ?? "", LIMITS.attachmentText),
                    fields,
                    footer: `ops-platform ${environment}`,
                    ...(ts !== undefined && Number.isFinite(ts) ? { ts } : {}),
                },
            ],
        };
    }
    // Publishers already prefix "[<env>] " (spot-watch, the orchestration failure); not twice.
    const envPrefix = `[${environment}] `;
    const rawSubject = Subject?.trim() || "Notification";
    const subject = rawSubject.startsWith(envPrefix)
        ? rawSubject.slice(envPrefix.length).trim() || "Notification"
        : rawSubject;
    // A JSON object (the orchestration failure: error, cause, executionName, timestamp) reads
    // better as one "key: value" line per field than as raw JSON.
    const object = parseObject(Message);
    const body = object
        ? Object.entries(object)
              .map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`)
              .join("\n")
        : Message;
    return {
        text: `:information_source: ${envPrefix}${escape(subject, LIMITS.title)}`,
        attachments: [
            {
                color: "#439fe0",
                title: escape(subject, LIMITS.title),
                text: escape(body, LIMITS.attachmentText),
                footer: `ops-platform ${environment}`,
                ...(ts !== undefined && Number.isFinite(ts) ? { ts } : {}),
            },
        ],
    };
}

const WEBHOOK_URL = /^https:\/\/hooks\.slack\.com\/services\/[A-Za-z0-9]+\/[A-Za-z0-9]+\/[A-Za-z0-9]+$/;

/** Where the handler gets the webhook URL; `forget` drops a cached value so the next call rereads it. */
export type WebhookSource = (() => Promise<string>) & { forget?: () => void };

/**
 * The webhook URL from its secret, read once and kept for the container's life (a failed read
 * is retried on the next invocation; `forget` forces a reread). Errors name the secret, never
 * the value.
 */
export function webhookFromSecret(getSecret: SecretGetter, secretId: string): WebhookSource {
    let url: Promise<string> | undefined;
    const get = () => {
        url ??= getSecret(secretId)
            .then((raw) => {
                const value = raw.trim();
                if (!WEBHOOK_URL.test(value)) {
                    throw new Error(
                        `secret ${secretId} does not hold a Slack Incoming Webhook URL ` +
                            "(https://hooks.slack.com/services/T…/B…/…); " +
                            "set it with pulumi config set --secret alertSlackWebhookUrl <url> and pulumi up",
                    );
                }
                return value;
            })
            .catch((err) => {
                url = undefined;
                throw err;
            });
        return url;
    };
    return Object.assign(get, { forget: () => void (url = undefined) });
}

export interface SlackNotifierDeps {
    readonly webhookUrl: WebhookSource;
    /** Stack environment, shown in every message. */
    readonly environment: string;
    readonly log: Logger;
    readonly fetch?: typeof fetch;
    readonly sleep?: (ms: number) => Promise<void>;
    /** Clock for the time budget (default `Date.now`). */
    readonly now?: () => number;
    /** Posts per message before giving up (default 4). */
    readonly attempts?: number;
    /** First backoff after a 5xx or network error (doubles each time; default 500 ms). */
    readonly baseDelayMs?: number;
    /** Longest wait, also the cap on Retry-After (default 8 s). */
    readonly maxDelayMs?: number;
    /** One post is abandoned after this long (default 5 s; Slack answers in well under a second). */
    readonly attemptTimeoutMs?: number;
    /**
     * Time the retries of one message may take (default 22 s). The function's timeout is 30 s:
     * giving up inside it yields a clear error instead of a Lambda timeout; either way Lambda
     * retries the event and then dead-letters it.
     */
    readonly budgetMs?: number;
}

export const DELIVERY_DEFAULTS = {
    attempts: 4,
    baseDelayMs: 500,
    maxDelayMs: 8000,
    attemptTimeoutMs: 5000,
    budgetMs: 22000,
} as const;

/** Thrown when Slack refuses a message for good (4xx other than 429): retrying at once cannot help. */
export class SlackRejected extends Error {}

/** Error text with the webhook URL (and its path, which is the credential) cut out. */
function redact(text: string, url: string): string {
    let out = text.split(url).join("<webhook>");
    try {
        const { pathname } = new URL(url);
        if (pathname.length > 1) out = out.split(pathname).join("/<webhook-path>");
    } catch {
        // Not a URL: nothing more to cut.
    }
    return out;
}

export function makeSlackNotifier(deps: SlackNotifierDeps): (event: SnsEvent) => Promise<{ posted: number }> {
    const doFetch = deps.fetch ?? fetch;
    const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    const now = deps.now ?? Date.now;
    const attempts = deps.attempts ?? DELIVERY_DEFAULTS.attempts;
    const base = deps.baseDelayMs ?? DELIVERY_DEFAULTS.baseDelayMs;
    const max = deps.maxDelayMs ?? DELIVERY_DEFAULTS.maxDelayMs;
    const attemptTimeout = deps.attemptTimeoutMs ?? DELIVERY_DEFAULTS.attemptTimeoutMs;
    const budget = deps.budgetMs ?? DELIVERY_DEFAULTS.budgetMs;

    async function post(url: string, message: SlackMessage, messageId: string | undefined): Promise<void> {
        const started = now();
        let lastProblem = "";
        let attempt = 0;
        while (attempt < attempts) {
            attempt++;
            let wait = Math.min(max, base * 2 ** (attempt - 1));
            try {
                const res = await doFetch(url, {
                    method: "POST",
                    headers: { "content-type": "application/json" },
                    body: JSON.stringify(message),
                    signal: AbortSignal.timeout(attemptTimeout),
                });
                const body = (await res.text()).slice(0, 200);
                if (res.ok) return;
                lastProblem = redact(`HTTP ${res.status} ${body}`.trim(), url);
                if (res.status === 429) {
                    // Slack sends Retry-After in seconds (https://api.slack.com/apis/rate-limits).
                    const after = Number(res.headers.get("retry-after"));
                    if (res.headers.get("retry-after") !== null && Number.isFinite(after) && after >= 0)
                        wait = Math.min(max, after * 1000);
                } else if (res.status < 500) {
                    throw new SlackRejected(
                        `Slack refused the message (${lastProblem}); ` +
                            "check the webhook (revoked, or its channel archived) and the payload",
                    );
                }
            } catch (err) {
                if (err instanceof SlackRejected) throw err;
                lastProblem = redact(`network error: ${(err as Error).message}`, url);
            }
            if (attempt >= attempts) break;
            if (now() - started + wait + attemptTimeout > budget) {
                lastProblem += `; no time left within ${budget} ms for another attempt`;
                break;
            }
            deps.log.warn("Slack post failed; retrying", { messageId, attempt, problem: lastProblem, waitMs: wait });
            await sleep(wait);
        }
        throw new Error(
            `Slack post failed after ${attempt} attempt${attempt === 1 ? "" : "s"} (${lastProblem}); ` +
                "Lambda retries the event, then its dead-letter queue keeps it",
        );
    }

    return async (event) => {
        const records = event?.Records ?? [];
        if (records.length === 0) return { posted: 0 };
        let url = await deps.webhookUrl();
        let posted = 0;
        // SNS delivers one record per invocation; a failure throws before later records, and the
        // whole event is retried (a duplicate in Slack beats a lost alert).
        for (const record of records) {
            const message = formatAlert(record, deps.environment);
            try {
                await post(url, message, record.Sns.MessageId);
            } catch (err) {
                // A refused webhook is most often a rotated one: warm containers still hold the
                // old URL. Reread the secret once and, if it changed, post to the new one.
                if (!(err instanceof SlackRejected) || !deps.webhookUrl.forget) throw err;
                deps.webhookUrl.forget();
                const fresh = await deps.webhookUrl();
                if (fresh === url) throw err;
                deps.log.warn("Slack refused the cached webhook; the secret holds a new one, posting there", {
                    messageId: record.Sns.MessageId,
                });
                url = fresh;
                await post(url, message, record.Sns.MessageId);
            }
            posted++;
            deps.log.info("alert posted to Slack", {
                messageId: record.Sns.MessageId,
                subject: record.Sns.Subject ?? null,
            });
        }
        return { posted };
    };
}

/** The handler as the Lambda builds it: settings from the environment the Alerts component sets. */
export function slackNotifierFromEnv(
    env: Readonly<Record<string, string | undefined>>,
    getSecret: SecretGetter,
    log: Logger,
): (event: SnsEvent) => Promise<{ posted: number }> {
    const secretId = env.SLACK_WEBHOOK_SECRET_ARN;
    if (!secretId)
        throw new Error(
            "SLACK_WEBHOOK_SECRET_ARN is not set; the Alerts component sets it to the ARN of the webhook secret",
        );
    const environment = env.ALERTS_ENVIRONMENT;
    if (!environment)
        throw new Error(
            "ALERTS_ENVIRONMENT is not set; the Alerts component sets it to the stack environment (stg, prd)",
        );
    return makeSlackNotifier({ webhookUrl: webhookFromSecret(getSecret, secretId), environment, log });
}
