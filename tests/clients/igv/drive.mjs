// Drive one harness page in an already running Chromium (started by tests/support/igv_harness.py with the
// project's flags) over the DevTools protocol, using playwright-core, which never downloads a browser.
//
// Job on stdin (JSON): {cdpEndpoint, pageUrl, timeoutMs, screenshot: path|null, viewport: {width, height}}
// Writes one JSON object on stdout: the page's result plus console, pageErrors, requests, browserVersion.
import {chromium} from 'playwright-core';
import {readStdin} from '../harness_io.mjs';

const HEADERS_KEPT = new Set([
    'range', 'authorization', 'cache-control', 'origin', 'content-range', 'content-length', 'content-type',
    'access-control-allow-origin', 'access-control-expose-headers',
]);

function keep(headers) {
    const out = {};
    for (const [k, v] of Object.entries(headers || {})) {
        if (HEADERS_KEPT.has(k.toLowerCase())) out[k.toLowerCase()] = v;
    }
    return out;
}

async function main() {
    const job = JSON.parse(await readStdin());
    const browser = await chromium.connectOverCDP(job.cdpEndpoint, {timeout: 30000});
    const out = {browserVersion: browser.version(), console: [], pageErrors: [], requests: []};
    const pending = [];
    let context;
    try {
        context = await browser.newContext({viewport: job.viewport});
        const page = await context.newPage();
        page.on('console', m => out.console.push({type: m.type(), text: m.text()}));
        page.on('pageerror', e => out.pageErrors.push(String(e && e.message ? e.message : e)));
        const record = async (request, failure) => {
            const entry = {
                method: request.method(),
                url: request.url(),
                resourceType: request.resourceType(),
                headers: keep(await request.allHeaders().catch(() => request.headers())),
                status: null,
                responseHeaders: {},
                failure: failure || null,
            };
            const response = failure ? null : await request.response().catch(() => null);
            if (response) {
                entry.status = response.status();
                entry.responseHeaders = keep(await response.allHeaders().catch(() => response.headers()));
            }
            out.requests.push(entry);
        };
        page.on('requestfinished', r => pending.push(record(r, null)));
        page.on('requestfailed', r => pending.push(record(r, (r.failure() || {}).errorText || 'failed')));

        await page.goto(job.pageUrl, {waitUntil: 'load', timeout: 30000});
        let status;
        try {
            // The page writes its own timeout result at timeoutMs; allow a margin on top of it.
            await page.waitForSelector('#result[data-status]', {state: 'attached', timeout: job.timeoutMs + 5000});
            status = 'page';
        } catch (e) {
            status = 'driver-timeout';
        }
        let result;
        if (status === 'page') {
            result = JSON.parse(await page.textContent('#result'));
        } else {
            result = await page.evaluate(() => window.igvHarness ? window.igvHarness.snapshot() : {}).catch(() => ({}));
            result.status = 'timeout';
            result.error = 'the page did not write a result';
        }
        if (job.screenshot) {
            await page.screenshot({path: job.screenshot, fullPage: true});
        }
        await Promise.allSettled(pending);
        Object.assign(out, result, {pageErrors: [...(result.pageErrors || []), ...out.pageErrors]});
    } finally {
        if (context) await context.close().catch(() => undefined);
        await browser.close().catch(() => undefined);   // over CDP this only disconnects
    }
    process.stdout.write(JSON.stringify(out));
}

main().catch(error => {
    process.stderr.write(`drive.mjs: ${error && error.stack ? error.stack : error}\n`);
    process.exit(1);
});
