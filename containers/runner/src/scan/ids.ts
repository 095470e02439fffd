/**
 * Scanner part: stable numeric ids written onto elements (data-ops-fid, data-ops-bid, …), so the
 * Node side can find a field again, and a rescan of the same document gives it the same id. Runs
 * inside the page (see ../scan.ts): uses only its parameters.
 */
import type { DomElement } from "../dom";

export interface IdAllocator {
    /** The id in attribute `attr` of `el`; a new one is written there first if it has none. */
    readonly idOf: (el: DomElement, attr: string) => number;
    /** Remembers the next free id on the document element, for the next scan. */
    readonly save: () => void;
}

export function makeIdAllocator(root: DomElement): IdAllocator {
    let nextId = Number(root.getAttribute("data-ops-next") ?? "1");
    const idOf = (el: DomElement, attr: string): number => {
        const existing = el.getAttribute(attr);
        if (existing !== null) {
            return Number(existing);
        }
        const id = nextId++;
        el.setAttribute(attr, String(id));
        return id;
    };
    const save = (): void => root.setAttribute("data-ops-next", String(nextId));
    return { idOf, save };
}
