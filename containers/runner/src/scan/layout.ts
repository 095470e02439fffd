/**
 * Scanner part: which elements are form controls and which are visible. Runs inside the page
 * (see ../scan.ts): uses only its parameters and browser globals.
 */
import type { DomElement } from "../dom";

declare const window: { readonly scrollX: number; readonly scrollY: number };

export interface Layout {
    /** Fillable controls: inputs other than hidden/submit/button/image/reset, selects, text areas. */
    readonly CONTROL_SELECTOR: string;
    /** Rendered with a size, not transparent or hidden, and not pushed off the page. */
    readonly isVisible: (el: DomElement) => boolean;
    /** `el` is a control or holds one. */
    readonly hasControls: (el: DomElement) => boolean;
}

export function makeLayout(): Layout {
    const CONTROL_SELECTOR = [
        "input:not([type=hidden]):not([type=submit]):not([type=button]):not([type=image]):not([type=reset])",
        "select",
        "textarea",
    ].join(", ");
    const isVisible = (el: DomElement): boolean => {
        if (!el.isConnected) {
            return false;
        }
        const anyEl = el as DomElement & { checkVisibility?: (o: object) => boolean };
        if (
            typeof anyEl.checkVisibility === "function" &&
            !anyEl.checkVisibility({ opacityProperty: true, visibilityProperty: true })
        ) {
            return false;
        }
        const r = el.getBoundingClientRect();
        if (r.width < 2 || r.height < 2) {
            return false;
        }
        const x = r.left + window.scrollX;
        const y = r.top + window.scrollY;
        return x + r.width > 0 && y + r.height > 0 && x < 20000;
    };
    const hasControls = (el: DomElement): boolean =>
        el.matches(CONTROL_SELECTOR) || el.querySelector(CONTROL_SELECTOR) !== null;
    return { CONTROL_SELECTOR, isVisible, hasControls };
}
