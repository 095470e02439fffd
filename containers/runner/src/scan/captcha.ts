/**
 * Scanner part: CAPTCHA widgets in the document. Runs inside the page (see ../scan.ts): uses only
 * browser globals.
 */
import type { DomDocument } from "../dom";

declare const document: DomDocument;

/** "recaptcha", "hcaptcha", "turnstile", "captcha-widget" (another site-key widget), "image-captcha". */
export function findCaptchas(): string[] {
    const captcha: string[] = [];
    const has = (selectors: string[]) => document.querySelector(selectors.join(", ")) !== null;
    if (
        has([
            ".g-recaptcha",
            "iframe[src*='recaptcha']",
            "script[src*='recaptcha']",
            "textarea[name='g-recaptcha-response']",
            "input[name*='recaptcha' i]",
        ])
    ) {
        captcha.push("recaptcha");
    }
    if (
        has([".h-captcha", "iframe[src*='hcaptcha']", "script[src*='hcaptcha']", "textarea[name='h-captcha-response']"])
    ) {
        captcha.push("hcaptcha");
    }
    if (
        has([
            ".cf-turnstile",
            "iframe[src*='challenges.cloudflare.com']",
            "script[src*='turnstile']",
            "input[name='cf-turnstile-response']",
        ])
    ) {
        captcha.push("turnstile");
    }
    if (captcha.length === 0 && has(["[data-sitekey]"])) {
        captcha.push("captcha-widget");
    }
    if (
        has(["img[src*='captcha' i]", "img[alt*='captcha' i]", "input[name*='captcha' i]:not([name*='recaptcha' i])"])
    ) {
        captcha.push("image-captcha");
    }
    return captcha;
}
