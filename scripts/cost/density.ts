/**
 * How many forms one runner instance-hour completes, as measured by `npm run bench -- density` (issue 17,
 * scripts/bench/density.ts: the fixture corpus behind realistic-site proxies, projected to a c6a.xlarge from CPU
 * seconds and memory per form). The cost report turns the seed's workload into forms with the 4-worker figure and
 * back into instance-hours with the recommended density's.
 */
export interface MeasuredDensity {
    /** Day of the run whose figures these are. */
    readonly measuredOn: string;
    /** Recommended workers per job (the default `FORM_SENDER_WORKERS` should follow it). */
    readonly workers: number;
    /** Forms per c6a.xlarge instance-hour at `workers`. */
    readonly formsPerInstanceHour: number;
    /** Forms per c6a.xlarge instance-hour in the seed's configuration (4 workers, no request blocking), same run. */
    readonly seedFormsPerInstanceHour: number;
}

export const MEASURED_DENSITY: MeasuredDensity = {
    measuredOn: "2026-11-27",
    workers: 7,
    formsPerInstanceHour: 6761,
    seedFormsPerInstanceHour: 2446,
};

/** The seed's workers per instance (seed 000 §11: 100 targetings × 4 workers × 8 h × 22 days). */
export const SEED_WORKERS = 4;

/**
 * The seed's workload (`costFormSenderInstanceHours`, instance-hours at 4 workers) in forms, and the instance-hours
 * the same forms take at the measured density.
 */
export function packedWorkload(
    seedInstanceHours: number,
    d: MeasuredDensity = MEASURED_DENSITY,
): { forms: number; instanceHours: number } {
    const forms = seedInstanceHours * d.seedFormsPerInstanceHour;
    return { forms, instanceHours: forms / d.formsPerInstanceHour };
}

/** Dollars per 1,000 forms for an instance price per hour. */
export function dollarsPer1000Forms(hourly: number, formsPerInstanceHour: number): number {
    return (hourly / formsPerInstanceHour) * 1000;
}
