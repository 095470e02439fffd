import { ConfigReader } from "./validate";

/**
 * Usage assumptions for `npm run cost` (keys `cost*`). They describe expected monthly usage,
 * not infrastructure, so the program itself ignores them; defaults follow the seeds' sizing.
 */
export interface CostAssumptions {
    /** Runner instance-hours per month (seed 000 §11: 100 targetings × 8 h × 22 days = 17,600). */
    readonly formSenderInstanceHours: number;
    /** Share of runner hours served by Spot, in percent (the rest falls back to on-demand). */
    readonly spotSharePercent: number;
    readonly apiRequestsPerMonth: number;
    /** GB of logs ingested per month per component region. */
    readonly logGbPerMonth: number;
    /** GB through each NAT gateway per month. */
    readonly natGbPerMonth: number;
    readonly weatherAverageTasks: number;
    /** Average ALB load balancer capacity units (1 LCU ≈ 25 new conn/s or 1 GB/h). */
    readonly albAverageLcu: number;
    readonly efsGb: number;
    readonly orchestrationRunsPerMonth: number;
    readonly syncRunsPerMonth: number;
}

export const COST_DEFAULTS: CostAssumptions = {
    formSenderInstanceHours: 17600,
    spotSharePercent: 90,
    apiRequestsPerMonth: 100000,
    logGbPerMonth: 5,
    natGbPerMonth: 20,
    weatherAverageTasks: 1,
    albAverageLcu: 1,
    efsGb: 10,
    orchestrationRunsPerMonth: 30,
    syncRunsPerMonth: 30,
};

export function readCostAssumptions(r: ConfigReader): CostAssumptions {
    const d = COST_DEFAULTS;
    return {
        formSenderInstanceHours: r.integer("costFormSenderInstanceHours", {
            default: d.formSenderInstanceHours,
            min: 0,
            max: 10_000_000,
        }),
        spotSharePercent: r.integer("costSpotSharePercent", { default: d.spotSharePercent, min: 0, max: 100 }),
        apiRequestsPerMonth: r.integer("costApiRequestsPerMonth", {
            default: d.apiRequestsPerMonth,
            min: 0,
            max: 10_000_000_000,
        }),
        logGbPerMonth: r.integer("costLogGbPerMonth", { default: d.logGbPerMonth, min: 0, max: 1_000_000 }),
        natGbPerMonth: r.integer("costNatGbPerMonth", { default: d.natGbPerMonth, min: 0, max: 1_000_000 }),
        weatherAverageTasks: r.integer("costWeatherAverageTasks", { default: d.weatherAverageTasks, min: 0, max: 100 }),
        albAverageLcu: r.integer("costAlbAverageLcu", { default: d.albAverageLcu, min: 0, max: 10_000 }),
        efsGb: r.integer("costEfsGb", { default: d.efsGb, min: 0, max: 1_000_000 }),
        orchestrationRunsPerMonth: r.integer("costOrchestrationRunsPerMonth", {
            default: d.orchestrationRunsPerMonth,
            min: 0,
            max: 100_000,
        }),
        syncRunsPerMonth: r.integer("costSyncRunsPerMonth", { default: d.syncRunsPerMonth, min: 0, max: 100_000 }),
    };
}
