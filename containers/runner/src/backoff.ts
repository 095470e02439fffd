/** Exponential backoff with full jitter, bounded by a deadline rather than a try count. */

export interface BackoffOptions {
    /** Give up once this much time has passed since the first try. */
    readonly deadlineMs: number;
    /** First delay's upper bound. @default 500 */
    readonly baseMs?: number;
    /** Largest delay's upper bound. @default 15000 */
    readonly maxDelayMs?: number;
    /** Whether an error is worth another try (others are thrown at once). */
    readonly retryable: (err: unknown) => boolean;
    readonly sleep?: (ms: number) => Promise<void>;
    readonly random?: () => number;
    readonly now?: () => number;
    /** Told about every failed try that will be retried. */
    readonly onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

/** Delay before retry `attempt` (1-based): uniform in [0, min(max, base·2^(attempt-1))). */
export function backoffDelay(attempt: number, baseMs: number, maxDelayMs: number, random: () => number): number {
    return Math.floor(random() * Math.min(maxDelayMs, baseMs * 2 ** (attempt - 1)));
}

export async function retryWithBackoff<T>(fn: (attempt: number) => Promise<T>, opts: BackoffOptions): Promise<T> {
    const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    const random = opts.random ?? Math.random;
    const now = opts.now ?? Date.now;
    const start = now();
    for (let attempt = 1; ; attempt++) {
        try {
            return await fn(attempt);
        } catch (err) {
            if (!opts.retryable(err)) {
                throw err;
            }
            const delay = backoffDelay(attempt, opts.baseMs ?? 500, opts.maxDelayMs ?? 15_000, random);
            const left = opts.deadlineMs - (now() - start);
            if (left <= 0) {
                throw err;
            }
            opts.onRetry?.(err, attempt, Math.min(delay, left));
            await sleep(Math.min(delay, left));
        }
    }
}
