/**
 * Scanner part: the buttons a form can be sent with, as `ButtonInfo`s. Runs inside the page (see
 * ../scan.ts): uses only its parameters.
 */
import type { DomControl, DomElement } from "../dom";
import type { ButtonInfo } from "../types";
import type { IdAllocator } from "./ids";
import type { Layout } from "./layout";
import type { TextReader } from "./text";

export interface ButtonDescriber {
    /** Everything that may send or advance a form, including script-driven links. */
    readonly BUTTON_SELECTOR: string;
    readonly describeButton: (b: DomElement) => ButtonInfo;
}

export function makeButtonDescriber(ids: IdAllocator, reader: TextReader, layout: Layout): ButtonDescriber {
    const { idOf } = ids;
    const { clean, textOf } = reader;
    const { isVisible } = layout;
    const BUTTON_SELECTOR = [
        "button",
        "input[type=submit]",
        "input[type=image]",
        "input[type=button]",
        "[role=button]",
        "a[onclick]",
        "a[href^='javascript']",
        // Script-wired links: <a href="#">送信する</a> with a listener (buttonRole still needs send wording).
        "a[href='#']",
    ].join(", ");
    /** Names cookie/consent-management boxes go by (OneTrust, Cookiebot, CookieYes, cookie-notice …). */
    const NOTICE = /cookie|consent|gdpr|(^|[\s_-])cmp([\s_-]|$)|onetrust|cybot|cc-window|cc-banner|クッキー/i;
    /** The button answers a cookie/consent notice: an ancestor named so that holds no field to type into. */
    const inConsentNotice = (b: DomElement): boolean => {
        let cur: DomElement | null = b.parentElement;
        for (let depth = 0; cur && depth < 8 && cur.tagName !== "FORM" && cur.tagName !== "BODY"; depth++) {
            const name = `${cur.id} ${typeof cur.className === "string" ? cur.className : ""} ${
                cur.getAttribute("aria-label") ?? ""
            }`;
            if (NOTICE.test(name)) {
                return !cur.querySelector("textarea, input[type=email], input[type=text], input:not([type]), select");
            }
            cur = cur.parentElement;
        }
        return false;
    };
    const describeButton = (b: DomElement): ButtonInfo => {
        const input = b as DomControl;
        const text =
            b.tagName === "INPUT"
                ? clean(
                      input.value ||
                          input.getAttribute("alt") ||
                          input.getAttribute("aria-label") ||
                          (input.type === "submit" ? "submit" : ""),
                  )
                : clean(textOf(b, 80) || b.getAttribute("aria-label") || b.getAttribute("title") || "");
        return {
            bid: idOf(b, "data-ops-bid"),
            text,
            type: (b.getAttribute("type") ?? (b.tagName === "BUTTON" ? "submit" : "")).toLowerCase(),
            tag: b.tagName.toLowerCase(),
            visible: isVisible(b),
            consent: inConsentNotice(b),
        };
    };
    return { BUTTON_SELECTOR, describeButton };
}
