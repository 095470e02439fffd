/**
 * Per-targeting settings precedence (seed 003 §7): targeting column → stack default → code default. The
 * GAS package sends a column only when it is filled (formSenderAwsPayload_), and the dispatcher fills
 * what was not sent from its stack defaults, then from CODE_DEFAULTS (resolveOverrides).
 */
import { strict as assert } from "assert";
import {
    CODE_DEFAULTS,
    CODE_JOB_SIZE,
    JobSize,
    resolveJobSize,
    resolveOverrides,
    SubmitDefaults,
} from "../../../functions/formSender/dispatcher";
import type { BatchOverrides } from "../../../functions/formSender/submitSchema";
import { AppsScriptProject } from "./appsScript";

type Setting = keyof SubmitDefaults;
const COLUMN: Record<Setting, string> = {
    prefer_spot: "batch_prefer_spot",
    allow_on_demand_fallback: "batch_allow_on_demand_fallback",
    max_attempts: "batch_max_attempts",
    workers_per_workflow: "batch_workers_per_workflow",
    session_max_hours: "session_max_hours",
};
/** A stack default and a column value for each setting, all different from each other and from the code default. */
const STACK: Required<SubmitDefaults> = {
    prefer_spot: false,
    allow_on_demand_fallback: !CODE_DEFAULTS.allow_on_demand_fallback,
    max_attempts: 5,
    workers_per_workflow: 2,
    session_max_hours: 6,
};
const CELL: Record<Setting, [cell: string | number | boolean, value: number | boolean]> = {
    prefer_spot: ["TRUE", true],
    allow_on_demand_fallback: [
        CODE_DEFAULTS.allow_on_demand_fallback ? "FALSE" : "TRUE",
        !CODE_DEFAULTS.allow_on_demand_fallback,
    ],
    max_attempts: [7, 7],
    workers_per_workflow: ["8", 8],
    session_max_hours: [4.5, 4.5],
};

describe("per-targeting settings precedence: targeting column → stack default → code default", () => {
    const gas = new AppsScriptProject((u) => u).execution();
    const payload = (cells: Record<string, unknown>) =>
        JSON.parse(
            JSON.stringify(
                gas.formSenderAwsPayload_(
                    { targeting_id: "T1", client_config: '{"client":{},"message":{}}', ...cells },
                    { testMode: false },
                ),
            ),
        ) as { batch?: BatchOverrides; session_max_hours?: number };
    const effective = (cells: Record<string, unknown>, stack: SubmitDefaults) => {
        const p = payload(cells);
        return resolveOverrides(p.batch ?? {}, { ...CODE_DEFAULTS, ...stack }, p.session_max_hours);
    };

    const settings = Object.keys(COLUMN) as Setting[];
    const cases: { setting: Setting; column: boolean; stack: boolean; expected: unknown; from: string }[] = [];
    for (const setting of settings) {
        cases.push({ setting, column: true, stack: true, expected: CELL[setting][1], from: "column" });
        cases.push({ setting, column: true, stack: false, expected: CELL[setting][1], from: "column" });
        cases.push({ setting, column: false, stack: true, expected: STACK[setting], from: "stack default" });
        cases.push({ setting, column: false, stack: false, expected: CODE_DEFAULTS[setting], from: "code default" });
    }
    for (const c of cases) {
        it(`${c.setting}: column ${c.column ? "set" : "blank"}, stack default ${c.stack ? "set" : "unset"} → ${c.from}`, () => {
            const cells = c.column ? { [COLUMN[c.setting]]: CELL[c.setting][0] } : { [COLUMN[c.setting]]: "" };
            const stack = c.stack ? { [c.setting]: STACK[c.setting] } : {};
            assert.equal(effective(cells, stack)[c.setting], c.expected);
        });
    }

    // The job size: column → the stack's job definition (formSenderJobVcpus / formSenderJobMemoryMib) → code default.
    const SIZE_COLUMN: Record<keyof JobSize, [column: string, cell: string | number, value: number, stack: number]> = {
        vcpus: ["batch_vcpus", "8", 8, 2],
        memory_mib: ["batch_memory_mib", 15360, 15360, 3584],
    };
    for (const key of Object.keys(SIZE_COLUMN) as (keyof JobSize)[]) {
        const [column, cell, value, stackValue] = SIZE_COLUMN[key];
        for (const [set, stack, expected, from] of [
            [true, true, value, "column"],
            [true, false, value, "column"],
            [false, true, stackValue, "stack default"],
            [false, false, CODE_JOB_SIZE[key], "code default"],
        ] as [boolean, boolean, number, string][]) {
            it(`${key}: column ${set ? "set" : "blank"}, stack ${stack ? "set" : "unset"} → ${from}`, () => {
                const p = payload({ [column]: set ? cell : "" });
                const stackSize = { ...CODE_JOB_SIZE, ...(stack ? { [key]: stackValue } : {}) };
                assert.equal(resolveJobSize(p.batch ?? {}, stackSize)[key], expected);
            });
        }
    }

    it("refuses use_extra_table TRUE (the runner has one send queue) and sends nothing for FALSE", () => {
        assert.throws(
            () => payload({ use_extra_table: true }),
            /column use_extra_table of targeting T1 is true: the runner works from the one send_queue table/,
        );
        assert.equal((payload({ use_extra_table: "FALSE" }) as { tables?: unknown }).tables, undefined);
    });

    it("a blank column is not sent at all, so the dispatcher can apply the stack default", () => {
        const p = payload(Object.fromEntries(settings.map((s) => [COLUMN[s], ""])));
        assert.equal(p.batch, undefined);
        assert.equal(p.session_max_hours, undefined);
    });
});
