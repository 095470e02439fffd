/**
 * Primitive validators for stack configuration. Each reads one raw config value (the string
 * Pulumi stores for the key, or undefined when unset), checks it, and records a problem that
 * names the key, the value received and the fix. Problems are collected so an operator sees
 * every mistake in one run instead of one per `pulumi up`.
 */

export const PROJECT = "ops-platform";

/** One invalid configuration value. */
export interface ConfigProblem {
    readonly key: string;
    readonly message: string;
}

/** Thrown when the stack configuration is invalid; `problems` lists every bad key. */
export class ConfigError extends Error {
    constructor(
        readonly stack: string,
        readonly problems: ConfigProblem[],
    ) {
        super(
            `Invalid configuration for stack '${stack}' ` +
                `(${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
                problems.map((p) => `  - ${p.message}`).join("\n"),
        );
        this.name = "ConfigError";
    }
}

/** Raw values by unqualified key (`weatherCertificateArn`), as Pulumi hands them to the program. */
export type RawConfig = Readonly<Record<string, string | undefined>>;

/** CloudWatch Logs accepts only these retention periods. */
export const LOG_RETENTION_DAYS = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

const show = (v: string) => JSON.stringify(v);

/**
 * The one message format of a config problem: the key, what was expected, what was received and the fix.
 * `got` undefined means the key is not set; secrets pass "[secret]" instead of their value.
 */
export function configProblem(key: string, expected: string, got: string | undefined, fix: string): ConfigProblem {
    const received = got === undefined ? "it is not set" : `got ${show(got)}`;
    return { key, message: `${PROJECT}:${key}: expected ${expected}, ${received}. Fix: ${fix}` };
}

/**
 * Values that mean "not set". Pulumi.yaml gives every optional key a declared default, and where the program
 * derives the default (the environment from the stack name, AZs from the region, …) that declaration is `""` or
 * `[]`: the CLI then hands the program `""` or `"[]"`, which must read exactly as an absent key.
 */
export const isUnset = (v: string | undefined): v is undefined | "" | "[]" => v === undefined || v === "" || v === "[]";

/**
 * Reads and checks raw config values for one stack. Every accessor returns a usable value
 * (the default when invalid) so validation can continue and report all problems at once;
 * `finish()` throws a {@link ConfigError} if anything was wrong.
 */
export class ConfigReader {
    private readonly problems: ConfigProblem[] = [];
    private readonly seen = new Set<string>();

    constructor(
        readonly stack: string,
        private readonly raw: RawConfig,
    ) {}

    /** Records a problem for `key`; `fix` is the command or action that repairs it. */
    fail(key: string, expected: string, got: string | undefined, fix: string): void {
        this.problems.push(configProblem(key, expected, got, fix));
    }

    /** `pulumi config set` command that sets `key` on this stack. */
    setCommand(key: string, example: string, secret = false): string {
        return `pulumi config set ${secret ? "--secret " : ""}${key} ${example} --stack ${this.stack}`;
    }

    private value(key: string): string | undefined {
        this.seen.add(key);
        const v = this.raw[key];
        return v === undefined || v === "" ? undefined : v;
    }

    /** Whether `key` has a value: not absent, `""` or `[]` (see {@link isUnset}). */
    isSet(key: string): boolean {
        return !isUnset(this.raw[key]);
    }

    /** Marks a key as known without reading it (secrets are read through pulumi.Config). */
    declare(key: string): void {
        this.seen.add(key);
    }

    string(key: string, opts: { default?: string; pattern?: RegExp; expected?: string; example: string }): string;
    string(
        key: string,
        opts: { optional: true; pattern?: RegExp; expected?: string; example: string },
    ): string | undefined;
    string(
        key: string,
        opts: { default?: string; optional?: boolean; pattern?: RegExp; expected?: string; example: string },
    ): string | undefined {
        const v = this.value(key);
        if (v === undefined) {
            if (opts.default !== undefined || opts.optional) return opts.default;
            this.fail(key, opts.expected ?? "a value", undefined, this.setCommand(key, opts.example));
            return opts.example;
        }
        if (opts.pattern && !opts.pattern.test(v)) {
            this.fail(key, opts.expected ?? `a value matching ${opts.pattern}`, v, this.setCommand(key, opts.example));
            return opts.default ?? opts.example;
        }
        return v;
    }

    oneOf<T extends string>(key: string, allowed: readonly T[], opts: { default?: T }): T {
        const v = this.value(key);
        const fix = this.setCommand(key, opts.default ?? allowed[0]);
        if (v === undefined) {
            if (opts.default !== undefined) return opts.default;
            this.fail(key, `one of ${allowed.join(", ")}`, undefined, fix);
            return allowed[0];
        }
        if (!(allowed as readonly string[]).includes(v)) {
            this.fail(key, `one of ${allowed.join(", ")}`, v, fix);
            return opts.default ?? allowed[0];
        }
        return v as T;
    }

    integer(key: string, opts: { default: number; min: number; max: number }): number {
        const v = this.value(key);
        if (v === undefined) return opts.default;
        const n = Number(v);
        if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < opts.min || n > opts.max) {
            this.fail(key, `an integer from ${opts.min} to ${opts.max}`, v, this.setCommand(key, String(opts.default)));
            return opts.default;
        }
        return n;
    }

    boolean(key: string, opts: { default: boolean }): boolean {
        const v = this.value(key);
        if (v === undefined) return opts.default;
        if (v !== "true" && v !== "false") {
            this.fail(key, "true or false", v, this.setCommand(key, String(opts.default)));
            return opts.default;
        }
        return v === "true";
    }

    /** A list of strings; Pulumi stores YAML lists as JSON arrays. An empty list reads as unset. */
    stringList(
        key: string,
        opts: {
            default: string[];
            minItems?: number;
            item?: (s: string) => string | undefined;
            itemExpected?: string;
            example: string;
        },
    ): string[] {
        const v = this.value(key);
        if (isUnset(v)) return opts.default;
        const fix = `set it in Pulumi.${this.stack}.yaml as a YAML list, e.g. ${PROJECT}:${key}: ${opts.example}`;
        let parsed: unknown;
        try {
            parsed = JSON.parse(v);
        } catch {
            parsed = undefined;
        }
        if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === "string")) {
            this.fail(key, "a list of strings", v, fix);
            return opts.default;
        }
        if (parsed.length < (opts.minItems ?? 0)) {
            this.fail(key, `a list of at least ${opts.minItems} item${opts.minItems === 1 ? "" : "s"}`, v, fix);
            return opts.default;
        }
        let ok = true;
        for (const item of parsed) {
            const err = opts.item?.(item);
            if (err !== undefined) {
                ok = false;
                this.fail(key, `every item to be ${opts.itemExpected ?? "valid"} (${err})`, v, fix);
            }
        }
        return ok ? parsed : opts.default;
    }

    logRetention(key: string, def: number): number {
        const v = this.value(key);
        if (v === undefined) return def;
        const n = Number(v);
        if (!(LOG_RETENTION_DAYS as readonly number[]).includes(n)) {
            this.fail(
                key,
                `a CloudWatch Logs retention in days (one of ${LOG_RETENTION_DAYS.join(", ")})`,
                v,
                this.setCommand(key, String(def)),
            );
            return def;
        }
        return n;
    }

    /** Keys present in the stack file that no section read: almost always a typo. */
    checkUnknown(): void {
        const known = [...this.seen];
        for (const key of Object.keys(this.raw)) {
            if (this.seen.has(key)) continue;
            const hint = closest(key, known);
            const suggestion = hint ? `did you mean '${hint}'? ` : "";
            this.problems.push({
                key,
                message:
                    `${PROJECT}:${key}: unknown configuration key. ` +
                    `Fix: ${suggestion}run pulumi config rm ${key} --stack ${this.stack} ` +
                    "(keys are declared in Pulumi.yaml)",
            });
        }
    }

    finish(): void {
        if (this.problems.length > 0) throw new ConfigError(this.stack, this.problems);
    }
}

function closest(key: string, candidates: string[]): string | undefined {
    let best: string | undefined;
    let bestDist = Math.max(3, Math.floor(key.length / 4)) + 1;
    for (const c of candidates) {
        const d = levenshtein(key.toLowerCase(), c.toLowerCase());
        if (d < bestDist) {
            best = c;
            bestDist = d;
        }
    }
    return best;
}

function levenshtein(a: string, b: string): number {
    const row = Array.from({ length: b.length + 1 }, (_, i) => i);
    for (let i = 1; i <= a.length; i++) {
        let prev = row[0];
        row[0] = i;
        for (let j = 1; j <= b.length; j++) {
            const tmp = row[j];
            row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
            prev = tmp;
        }
    }
    return row[b.length];
}

// ---- shape checks shared by sections -------------------------------------------------------

export const AWS_REGIONS = [
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-south-1",
    "eu-west-1",
    "eu-west-2",
    "eu-central-1",
    "ca-central-1",
    "sa-east-1",
] as const;
export type AwsRegion = (typeof AWS_REGIONS)[number];

export const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
export const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/;
export const CIDR16_TO_24 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(1[6-9]|2[0-4])$/;
export const SUBNET_ID = /^subnet-[0-9a-f]{8,17}$/;
export const SECURITY_GROUP_ID = /^sg-[0-9a-f]{8,17}$/;
export const VPC_ID = /^vpc-[0-9a-f]{8,17}$/;

/** `arn:aws:<service>:<region>:<12-digit account>:<resource>` for a given service and resource prefix. */
export function arnPattern(service: string, resourcePrefix: string): RegExp {
    return new RegExp(`^arn:aws:${service}:[a-z]{2}-[a-z]+-\\d:\\d{12}:${resourcePrefix.replace(/[/]/g, "\\/")}.+$`);
}

/** Region part of an ARN (`arn:aws:acm:ap-northeast-1:…` → `ap-northeast-1`). */
export function arnRegion(arn: string): string {
    return arn.split(":")[3] ?? "";
}

const MONTHS = "JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC";
const WEEKDAYS = "SUN|MON|TUE|WED|THU|FRI|SAT";
/** Cron month names: one, or a range (`JAN-MAR`). */
const CRON_MONTH_NAMES = new RegExp(`^(${MONTHS})(-(${MONTHS}))?$`);
/** Cron day-of-week specials: `?`, `L`, `<n>L`, `<n>#<week>`, or names as a range and/or list. */
const CRON_WEEKDAY_SPECIALS = new RegExp(
    String.raw`^(\?|L|\dL|\d#[1-5]|(${WEEKDAYS})(-(${WEEKDAYS}))?(,(${WEEKDAYS}))*)$`,
);

/**
 * Validates an EventBridge schedule expression: `rate(<n> minute|minutes|hour|hours|day|days)`
 * or `cron(<min> <hour> <day-of-month> <month> <day-of-week> <year>)`, where exactly one of
 * day-of-month / day-of-week is `?` (EventBridge rejects the rule otherwise).
 * Returns undefined when valid, else the reason.
 */
export function scheduleExpressionError(expr: string): string | undefined {
    const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expr);
    if (rate) {
        const n = Number(rate[1]);
        if (n < 1) return "a rate must be at least 1";
        if ((n === 1) !== !rate[2].endsWith("s"))
            return `use '${n} ${n === 1 ? rate[2].replace(/s$/, "") : rate[2].replace(/s?$/, "s")}'`;
        return undefined;
    }
    const cron = /^cron\((.*)\)$/.exec(expr);
    if (!cron) return "must start with rate( or cron(";
    const fields = cron[1].trim().split(/\s+/);
    if (fields.length !== 6)
        return `cron needs 6 fields (minutes hours day-of-month month day-of-week year), got ${fields.length}`;
    const [min, hour, dom, month, dow, year] = fields;
    const checks: [string, string, number, number, RegExp?][] = [
        ["minutes", min, 0, 59],
        ["hours", hour, 0, 23],
        ["day-of-month", dom, 1, 31, /^(\?|L|LW|\d{1,2}W)$/],
        ["month", month, 1, 12, CRON_MONTH_NAMES],
        ["day-of-week", dow, 1, 7, CRON_WEEKDAY_SPECIALS],
        ["year", year, 1970, 2199],
    ];
    for (const [name, field, lo, hi, special] of checks) {
        if (special?.test(field)) continue;
        if (!cronFieldOk(field, lo, hi))
            return `cron ${name} field ${JSON.stringify(field)} is not valid (range ${lo}-${hi})`;
    }
    if ((dom === "?") === (dow === "?")) return "exactly one of day-of-month and day-of-week must be '?'";
    return undefined;
}

function cronFieldOk(field: string, lo: number, hi: number): boolean {
    return field.split(",").every((part) => {
        if (part === "*") return true;
        const m = /^(\*|\d+)(?:-(\d+))?(?:\/(\d+))?$/.exec(part);
        if (!m) return false;
        const inRange = (s: string | undefined) => s === undefined || s === "*" || (Number(s) >= lo && Number(s) <= hi);
        return inRange(m[1]) && inRange(m[2]) && (m[3] === undefined || Number(m[3]) >= 1);
    });
}
