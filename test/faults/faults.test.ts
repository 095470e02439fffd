/**
 * The send path's fault matrix (test/faults/matrix.ts): every scenario of issue 14 against real
 * PostgreSQL, the RPC server, Chromium, the loopback company sites and the AWS stand-ins. Pass:
 * no company received a submission twice, no queue item was lost, every failure GAS met was
 * reported as one; and each scenario's own checks held. `npm run bench -- faults` prints the same.
 */
import { strict as assert } from "assert";
import { formatMatrix, runFaultMatrix, SCENARIOS, type MatrixResult } from "./matrix";

describe("send path fault matrix (PostgreSQL + RPC + Chromium + company sites + AWS stand-ins)", function () {
    this.timeout(1_800_000);
    let m: MatrixResult;

    before(async () => {
        const only = process.env.FAULTS_ONLY?.split(",").map(Number);
        m = await runFaultMatrix({ only });
        process.stdout.write(`${formatMatrix(m)}\n`);
    });

    it("runs every scenario of the issue", () => {
        const wanted = process.env.FAULTS_ONLY ? process.env.FAULTS_ONLY.split(",").length : SCENARIOS.length;
        assert.equal(m.scenarios.length, wanted);
    });

    it("sends to no company twice, loses no item, hides no failure from GAS", () => {
        assert.deepEqual(
            { double_sends: m.doubleSends, lost: m.lost, silent_failures: m.silentFailures },
            { double_sends: 0, lost: 0, silent_failures: 0 },
            formatMatrix(m),
        );
        assert.match(
            formatMatrix(m).split("\n").pop() ?? "",
            new RegExp(`^faults: ${m.scenarios.length} scenarios, double_sends 0, lost 0, silent_failures 0$`),
        );
    });

    it("holds each scenario's own checks", () => {
        const failed = m.scenarios.flatMap((s) =>
            Object.entries(s.checks)
                .filter(([, ok]) => !ok)
                .map(([what]) => `${s.id}. ${what}`),
        );
        assert.deepEqual(failed, [], formatMatrix(m));
    });

    it("ends each scenario's items as the fault implies", () => {
        const by = new Map(m.scenarios.map((s) => [s.id, s]));
        const expect: Record<number, { sends: Record<string, number>; items: Record<string, number> }> = {
            1: { sends: { c1: 1, c2: 1, c3: 1 }, items: { sent: 2, unknown: 1 } },
            2: { sends: { c1: 1, c2: 1, c3: 1 }, items: { failed: 1, sent: 2 } },
            3: { sends: { c1: 1, c2: 1, c3: 1 }, items: { sent: 2, unknown: 1 } },
            4: { sends: { c1: 1, c2: 1, c3: 1 }, items: { sent: 3 } },
            5: { sends: { c1: 1, c2: 1, c3: 1, c4: 1 }, items: { sent: 4 } },
            6: { sends: { c1: 1, c2: 1 }, items: { sent: 2 } },
            7: { sends: { c1: 0, c2: 0 }, items: { pending: 2 } },
            8: { sends: { c1: 0, c2: 1, c3: 1 }, items: { unknown: 1, sent: 2 } },
            9: { sends: { c1: 1, c2: 1 }, items: { sent: 2 } },
            10: { sends: { c1: 1, c2: 1 }, items: { sent: 2 } },
        };
        for (const s of m.scenarios) {
            const sorted = (o: Record<string, number>) => Object.fromEntries(Object.entries(o).sort());
            assert.deepEqual(
                { sends: s.sends, items: sorted(s.items as Record<string, number>) },
                { sends: expect[s.id].sends, items: sorted(expect[s.id].items) },
                `scenario ${s.id} (${s.name})`,
            );
            assert.ok(by.has(s.id));
        }
    });
});
