/** Typed access to plan inputs for the form-sender tests. */
import type { Plan } from "../harness";

/**
 * Inputs of the resource `name` of `type`, read as `T`: an interface the test declares with the fields it reads.
 * Nothing checks the plan against `T`; the test's assertions do.
 */
export function inputsOf<T extends object>(plan: Plan, type: string, name: string): T {
    return plan.get(type, name).inputs as unknown as T;
}
