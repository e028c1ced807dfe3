// Open a page that creates its own igv.js browser (the demo's igv.html keeps it in window.igvBrowser)
// in an already running Chromium over the DevTools protocol (playwright-core, never a browser download),
// with every request that leaves this machine refused, and report what igv.js drew.
//
// Job on stdin (JSON): {cdpEndpoint, pageUrl, timeoutMs, screenshot: path|null, viewport: {width, height}}
// Writes one JSON object on stdout:
//   {status: "done"|"timeout"|"error", error, igvVersion, blockedRequests: [url], requests: [{url, status, failure}],
//    pageErrors: [text], tracks: [{name, type, loaded (features igv.js holds for the view), drawn (those
//    overlapping the visible window), paintedPixels (non-white pixels of the visible canvas)}]}
import {chromium} from 'playwright-core';
import {isLocal, readStdin} from '../harness_io.mjs';

// Runs in the page: wait until every track's viewports hold features and nothing loads, then measure.
async function measure(timeoutMs) {
    const browser = await window.igvBrowser;
    const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));
    const tracks = () => browser.trackViews.filter(tv => tv.track && ['alignment', 'variant'].includes(tv.track.type));
    const settled = () => tracks().every(tv => tv.viewports.every(vp => !vp.loading && vp.featureCache));
    const deadline = performance.now() + timeoutMs;
    while (!settled() && performance.now() < deadline) await sleep(100);
    await sleep(500);   // the last paint after the last load
    const overlaps = (start, end, fStart, fEnd) => fStart < end && fEnd > start;
    function painted(vp) {
        const canvas = vp.canvas;
        if (!canvas || !canvas.parentNode) return 0;
        const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let n = 0;
        for (let i = 0; i < data.length; i += 4) {
            if (data[i + 3] > 0 && (data[i] < 245 || data[i + 1] < 245 || data[i + 2] < 245)) n += 1;
        }
        return n;
    }
    return {
        settled: settled(),
        igvVersion: typeof igv.version === 'function' ? igv.version() : igv.version,
        tracks: tracks().map(tv => {
            const vp = tv.viewports[0];
            const {start, end} = vp.genomicRange();
            const features = vp.featureCache ? vp.featureCache.features : undefined;
            let loaded = 0;
            let drawn = 0;
            if (tv.track.type === 'alignment') {
                const all = features && typeof features.allAlignments === 'function' ? features.allAlignments() : [];
                for (const a of all) {
                    const parts = a.firstAlignment ? [a.firstAlignment, a.secondAlignment] : [a];
                    for (const p of parts) {
                        if (!p) continue;
                        loaded += 1;
                        if (overlaps(start, end, p.start, p.start + p.lengthOnRef)) drawn += 1;
                    }
                }
            } else if (Array.isArray(features)) {
                loaded = features.length;
                drawn = features.filter(f => overlaps(start, end, f.start, f.end)).length;
            }
            return {name: tv.track.name, type: tv.track.type, loaded, drawn, paintedPixels: painted(vp)};
        }),
    };
}

async function main() {
    const job = JSON.parse(await readStdin());
    const browser = await chromium.connectOverCDP(job.cdpEndpoint, {timeout: 30000});
    const out = {status: 'error', error: null, blockedRequests: [], requests: [], pageErrors: [], tracks: []};
    let context;
    try {
        context = await browser.newContext({viewport: job.viewport});
        await context.route('**/*', route => {
            const url = route.request().url();
            if (isLocal(url)) return route.continue();
            out.blockedRequests.push(url);
            return route.abort('internetdisconnected');
        });
        const page = await context.newPage();
        page.on('pageerror', e => out.pageErrors.push(String(e && e.message ? e.message : e)));
        page.on('requestfinished', async r => {
            const response = await r.response().catch(() => null);
            out.requests.push({url: r.url(), status: response ? response.status() : null, failure: null});
        });
        page.on('requestfailed', r => out.requests.push({url: r.url(), status: null, failure: (r.failure() || {}).errorText}));
        await page.goto(job.pageUrl, {waitUntil: 'load', timeout: 30000});
        await page.waitForFunction(() => window.igvBrowser !== undefined, null, {timeout: 30000});
        const result = await page.evaluate(measure, job.timeoutMs);
        Object.assign(out, result, {status: result.settled ? 'done' : 'timeout'});
        if (job.screenshot) await page.screenshot({path: job.screenshot, fullPage: true});
    } catch (error) {
        out.error = String(error && error.message ? error.message : error);
    } finally {
        if (context) await context.close().catch(() => undefined);
        await browser.close().catch(() => undefined);
    }
    process.stdout.write(JSON.stringify(out));
}

main().catch(error => {
    process.stderr.write(`demo_page.mjs: ${error && error.stack ? error.stack : error}\n`);
    process.exit(1);
});
