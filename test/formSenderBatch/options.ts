/**
 * The resource options the program sends the engine (protect, ignoreChanges, retainOnDelete), which the offline
 * plan's JSON does not carry: the real program runs once per stack under the mock engine while every
 * RegisterResourceRequest is read on its way into the mock monitor.
 */
import * as mocks from "@pulumi/pulumi/runtime/mocks";
import { planStack } from "../../scripts/lib/plan";

/** The options of one registered resource, as the engine receives them. */
export interface RegisteredOptions {
    readonly urn: string;
    readonly type: string;
    readonly name: string;
    readonly protect: boolean;
    readonly ignoreChanges: readonly string[];
    readonly retainOnDelete: boolean;
}

/** What is read from a RegisterResourceRequest (a protobuf message of @pulumi/pulumi/proto/resource_pb). */
interface RegisterRequest {
    getType(): string;
    getName(): string;
    getProtect(): boolean | undefined;
    getIgnorechangesList(): string[];
    getRetainondelete(): boolean | undefined;
}

type Callback = (err: unknown, resp: { getUrn(): string } | undefined) => void;

/** runtime/mocks.js MockMonitor, through the one method read here. */
interface MonitorPrototype {
    registerResource(this: unknown, req: RegisterRequest, callback: Callback): Promise<void>;
}

const runs = new Map<string, Promise<RegisteredOptions[]>>();

async function record(stack: string): Promise<RegisteredOptions[]> {
    const proto = (mocks as unknown as { MockMonitor: { prototype: MonitorPrototype } }).MockMonitor.prototype;
    // The original is called with the monitor it was looked up on, as the engine runtime calls it.
    // eslint-disable-next-line @typescript-eslint/unbound-method -- restored below, and called with `this`
    const original = proto.registerResource;
    const seen: RegisteredOptions[] = [];
    proto.registerResource = function (req, callback) {
        return original.call(this, req, (err, resp) => {
            if (!err && resp)
                seen.push({
                    urn: resp.getUrn(),
                    type: req.getType(),
                    name: req.getName(),
                    protect: req.getProtect() === true,
                    ignoreChanges: req.getIgnorechangesList(),
                    retainOnDelete: req.getRetainondelete() === true,
                });
            callback(err, resp);
        });
    };
    try {
        await planStack(stack);
    } finally {
        proto.registerResource = original;
    }
    return seen;
}

/**
 * Every resource's options in the real program for `stack` (its stack file, no overrides). One run per stack and
 * test process; runs are made one after another, never while another mock-engine run is in flight.
 */
export function registeredOptions(stack: string): Promise<RegisteredOptions[]> {
    let run = runs.get(stack);
    if (!run) {
        const previous = [...runs.values()];
        run = Promise.allSettled(previous).then(() => record(stack));
        runs.set(stack, run);
    }
    return run;
}

/** The one resource of `type` named `name`; throws when missing or ambiguous. */
export function optionsOf(all: readonly RegisteredOptions[], type: string, name: string): RegisteredOptions {
    const found = all.filter((r) => r.type === type && r.name === name);
    if (found.length !== 1) throw new Error(`expected one ${type} named ${name}, found ${found.length}`);
    return found[0];
}
