import { strict as assert } from "assert";
import * as http from "http";
import type { AddressInfo } from "net";
import type { Browser } from "playwright-core";
import { launchBrowser } from "../../containers/runner/src/browser";
import { scanExpression } from "../../containers/runner/src/scan";
import type { FrameScan } from "../../containers/runner/src/types";

const PAGE = `<!doctype html><html lang="ja"><head><title>お問い合わせ</title></head><body>
<h2>お問い合わせフォーム</h2>
<form action="/send" method="post">
  <table>
    <tr><th>お名前</th><td><input name="sei"> <input name="mei"></td></tr>
    <tr><th><label for="mail">メールアドレス</label></th><td><input id="mail" type="email" name="email"></td></tr>
    <tr><th>内容</th><td><textarea name="body"></textarea></td></tr>
  </table>
  <button type="submit">確認画面へ</button>
</form>
<a href="/contact">お問い合わせ</a>
<div class="g-recaptcha" data-sitekey="x"></div>
</body></html>`;

// fill.ts swallows a frame whose scan throws (a frame may navigate mid-scan), so a part of the composed in-page
// script that refers to something outside itself would only show as "no form". This runs the composed script
// directly in Chromium, where such a reference throws.
describe("the composed in-page scanner", function () {
    this.timeout(60_000);
    let browser: Browser;
    let server: http.Server;
    let url: string;
    before(async () => {
        browser = await launchBrowser();
        server = http.createServer((_req, res) =>
            res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(PAGE),
        );
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    });
    after(async () => {
        server?.close();
        await browser?.close();
    });

    it("runs in a real page and reports its form, fields, button, contact link and CAPTCHA", async () => {
        const page = await browser.newPage();
        try {
            await page.goto(url);
            const scan = await page.evaluate<FrameScan>(
                scanExpression({ maxText: 1000, contactLinkPattern: "お問い合わせ|contact" }),
            );
            assert.equal(scan.title, "お問い合わせ");
            assert.equal(scan.lang, "ja");
            assert.equal(scan.forms.length, 1);
            const [form] = scan.forms;
            assert.deepEqual(
                form.fields.map((f) => [f.tag, f.name]),
                [
                    ["input", "sei"],
                    ["input", "mei"],
                    ["input", "email"],
                    ["textarea", "body"],
                ],
            );
            assert.equal(form.fields[2].label, "メールアドレス");
            assert.equal(form.heading, "お問い合わせフォーム");
            assert.equal(form.buttons.length, 1);
            assert.ok(
                scan.links.some((l) => l.href.endsWith("/contact")),
                JSON.stringify(scan.links),
            );
            assert.deepEqual(scan.captcha, ["recaptcha"]);
            assert.ok(scan.text.length <= 1000);
        } finally {
            await page.close();
        }
    });

    it("throws in the page when a part depends on anything outside the script", async () => {
        const page = await browser.newPage();
        try {
            await page.goto(url);
            const broken = scanExpression({ maxText: 1000, contactLinkPattern: "x" }).replace(
                /(const makeIdAllocator = function makeIdAllocator\([^)]*\)\s*\{)/,
                "$1 void SOME_MODULE_CONSTANT;",
            );
            assert.notEqual(broken, scanExpression({ maxText: 1000, contactLinkPattern: "x" }));
            await assert.rejects(page.evaluate(broken), /SOME_MODULE_CONSTANT is not defined/);
        } finally {
            await page.close();
        }
    });
});
