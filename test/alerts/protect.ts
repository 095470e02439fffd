/**
 * The `protect` option of the resources a mock-engine run registers: the offline plan's inputs do not carry resource
 * options, so they are read from each RegisterResourceRequest on its way into the mock monitor.
 */
import * as mocks from "@pulumi/pulumi/runtime/mocks";

/** What is read from a RegisterResourceRequest (a protobuf message of @pulumi/pulumi/proto/resource_pb). */
interface RegisterRequest {
    getType(): string;
    getName(): string;
    getParent(): string;
    getProtect(): boolean | undefined;
}

/** One registered resource: its type, name, parent URN ("" for none) and whether it is protected. */
export interface Registered {
    readonly type: string;
    readonly name: string;
    readonly parent: string;
    readonly protect: boolean;
}

type Callback = (err: unknown, resp: unknown) => void;

/** runtime/mocks.js MockMonitor, through the one method read here. */
interface MonitorPrototype {
    registerResource(this: unknown, req: RegisterRequest, callback: Callback): Promise<void>;
}

/**
 * Every resource `run` registers, with its `protect`. `run` must register afresh (a cached plan registers nothing), and
 * no other mock-engine run may overlap it.
 */
export async function protectDuring(run: () => Promise<unknown>): Promise<Registered[]> {
    const proto = (mocks as unknown as { MockMonitor: { prototype: MonitorPrototype } }).MockMonitor.prototype;
    // The original is called with the monitor it was looked up on, as the engine runtime calls it.
    // eslint-disable-next-line @typescript-eslint/unbound-method -- restored below, and called with `this`
    const original = proto.registerResource;
    const seen: Registered[] = [];
    proto.registerResource = function (req, callback) {
        seen.push({
            type: req.getType(),
            name: req.getName(),
            parent: req.getParent(),
            protect: req.getProtect() === true,
        });
        return original.call(this, req, callback);
    };
    try {
        await run();
    } finally {
        proto.registerResource = original;
    }
    return seen;
}
