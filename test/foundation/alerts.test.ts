import { strict as assert } from "assert";
import { planFor } from "../harness";

describe("alerts topics", function () {
    this.timeout(60000);

    for (const stack of ["stg", "prd"]) {
        it(`${stack}: one topic per region in use, each subscribed by e-mail, and every alarm notifies its own region's topic`, async () => {
            const plan = await planFor(stack);
            const regions = [
                ...new Set(plan.ofType("pulumi:providers:aws").map((p) => String(p.inputs.region))),
            ].sort();
            const topics = plan.ofType("aws:sns/topic:Topic").filter((t) => t.name.startsWith("alerts-"));
            assert.deepEqual(topics.map((t) => t.name.replace(/^alerts-|-topic$/g, "")).sort(), regions);
            for (const region of regions) {
                const inRegion = new Set(plan.inRegion(region).map((r) => r.urn));
                const topic = topics.find((t) => t.name === `alerts-${region}-topic`)!;
                assert.ok(inRegion.has(topic.urn), `${topic.urn} is not on the ${region} provider`);
                const topicArn = `arn:aws:sns:${region}:123456789012:ops-platform-${stack}-alerts-${region}`;
                const sub = plan.inputs<{ protocol: string; topic: string; endpoint: string }>(
                    "aws:sns/topicSubscription:TopicSubscription",
                    `alerts-${region}-email`,
                );
                assert.deepEqual([sub.protocol, sub.topic], ["email", topicArn]);
                assert.match(sub.endpoint, /@example\.com$/);
                const alarms = plan.ofType("aws:cloudwatch/metricAlarm:MetricAlarm").filter((a) => inRegion.has(a.urn));
                for (const alarm of alarms) {
                    const actions = (alarm.inputs.alarmActions ?? []) as string[];
                    assert.ok(actions.length > 0, `${alarm.name} notifies nobody`);
                    for (const action of actions) {
                        assert.equal(action.split(":")[3], region, `${alarm.name} in ${region} notifies ${action}`);
                    }
                }
            }
        });
    }
});
