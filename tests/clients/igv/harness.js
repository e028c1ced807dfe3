/*
 * igv.js harness page script (loaded by page.html after igv.min.js).
 *
 * Config (JSON, from ?config=<url>, default "config.json"; or window.igvHarnessConfig if set):
 *   {reference: {id, name, format: "chromsizes", url}, locus: "11:1-1000" | [loci...],
 *    tracks: [igv track configs], timeoutMs: 60000, settleMs: 300}
 *
 * Result (JSON in <pre id="result" data-status="done|error|timeout">):
 *   {status, error, igvVersion, elapsedMs, frames: [{chr, start, end, bpPerPixel}],
 *    alerts: [text], pageErrors: [text], blockedRequests: [off-machine URLs the page refused to fetch],
 *    tracks: [{index, name, type, format, sourceType, url, loaded, error, drawn, loadedFeatures,
 *              viewports: [{chr, start, end, zoomedOut, loading, drawCalls, loadedFeatures, drawn,
 *                           painted, paintedPixels, message, ...alignment extras}]}]}
 *
 * What "drawn" means: every track added by the harness has its draw() wrapped, so we record the exact
 * feature object igv.js painted into each viewport's canvas.  "drawn" counts the features in that
 * object that overlap the visible genomic window [start, end) of the viewport and that the track's
 * own draw loop would paint (alignments in the packed rows, not hidden; variants passing the track
 * filter).  Packed alignment rows below the fold are counted (they are in the painted canvas or one
 * scroll away).  As an independent check, "paintedPixels" counts the non-white pixels of the
 * visible part of the viewport canvas, and "painted" says a canvas for this locus exists.
 */
(function () {
    'use strict';

    const started = performance.now();
    const alerts = [];
    const pageErrors = [];
    const instrumented = new Map();   // track -> {drawsByViewport: Map(viewport -> {calls, options})}

    const blockedRequests = [];

    /*
     * Keep the page on this machine: igv.js fetches https://igv.org/data/url_mappings.tsv after any failed
     * request (and its genome list unless told not to).  Requests to anything but loopback, data: or
     * blob: URLs fail at once, as they would offline, without touching the network; they are listed
     * in the result as blockedRequests.
     */
    function isLocal(url) {
        let parsed;
        try {
            parsed = new URL(url, window.location.href);
        } catch (e) {
            return false;
        }
        if (parsed.protocol === 'data:' || parsed.protocol === 'blob:') return true;
        const host = parsed.hostname;
        return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
    }

    const xhrOpen = XMLHttpRequest.prototype.open;
    const xhrSend = XMLHttpRequest.prototype.send;
    XMLHttpRequest.prototype.open = function (method, url, ...rest) {
        this._harnessBlocked = isLocal(String(url)) ? undefined : String(url);
        return xhrOpen.call(this, method, url, ...rest);
    };
    XMLHttpRequest.prototype.send = function (body) {
        if (this._harnessBlocked) {
            blockedRequests.push(this._harnessBlocked);
            setTimeout(() => this.dispatchEvent(new ProgressEvent('error')), 0);
            return undefined;
        }
        return xhrSend.call(this, body);
    };
    const windowFetch = window.fetch;
    window.fetch = function (resource, init) {
        const url = resource instanceof Request ? resource.url : String(resource);
        if (!isLocal(url)) {
            blockedRequests.push(url);
            return Promise.reject(new TypeError(`blocked off-machine request: ${url}`));
        }
        return windowFetch.call(this, resource, init);
    };

    window.addEventListener('error', e => pageErrors.push(String(e.message || e)));
    window.addEventListener('unhandledrejection', e => pageErrors.push(String((e.reason && e.reason.message) || e.reason)));

    function messageOf(x) {
        if (x === undefined || x === null) return '';
        if (typeof x === 'string') return x;
        return String(x.message || x);
    }

    function stripTags(html) {
        const d = document.createElement('div');
        d.innerHTML = html;
        return d.textContent;
    }

    function writeResult(status, result) {
        const pre = document.getElementById('result');
        if (pre.dataset.status) return;   // first writer wins (done vs timeout)
        result.status = status;
        result.elapsedMs = Math.round(performance.now() - started);
        pre.textContent = JSON.stringify(result, null, 1);
        pre.dataset.status = status;
    }

    async function readConfig() {
        if (window.igvHarnessConfig) return window.igvHarnessConfig;
        const params = new URLSearchParams(window.location.search);
        const url = params.get('config') || 'config.json';
        const response = await fetch(url, {cache: 'no-store'});
        if (!response.ok) throw new Error(`config ${url}: HTTP ${response.status}`);
        return response.json();
    }

    /** Wrap a track's draw() so we know what was painted, per viewport. */
    function instrument(track) {
        if (instrumented.has(track)) return;
        const state = {drawsByViewport: new Map()};
        instrumented.set(track, state);
        const original = track.draw;
        track.draw = function (options) {
            const entry = state.drawsByViewport.get(options.viewport) || {calls: 0};
            entry.calls += 1;
            entry.options = options;
            state.drawsByViewport.set(options.viewport, entry);
            return original.call(this, options);
        };
    }

    function overlaps(start, end, fStart, fEnd) {
        return fStart < end && fEnd > start;
    }

    function countAlignments(container, start, end) {
        let drawn = 0;
        let rows = 0;
        if (!container || !container.packedGroups) return {drawn, rows};
        for (const group of container.packedGroups.values()) {
            rows += group.rows.length;
            for (const row of group.rows) {
                for (const a of row.alignments) {
                    if (a.hidden === true) continue;
                    const parts = a.firstAlignment ? [a.firstAlignment, a.secondAlignment] : [a];
                    for (const p of parts) {
                        if (p && overlaps(start, end, p.start, p.start + p.lengthOnRef)) drawn += 1;
                    }
                }
            }
        }
        return {drawn, rows};
    }

    function countLoadedAlignments(container) {
        if (!container || typeof container.allAlignments !== 'function') return 0;
        let n = 0;
        for (const a of container.allAlignments()) n += a.firstAlignment ? (a.secondAlignment ? 2 : 1) : 1;
        return n;
    }

    function countFeatures(track, features, start, end) {
        if (!Array.isArray(features)) return 0;
        let n = 0;
        for (const f of features) {
            if (track._filter && !track._filter(f)) continue;
            if (overlaps(start, end, f.start, f.end)) n += 1;
        }
        return n;
    }

    /** Non-white pixels in the part of the viewport canvas that is on screen. */
    function paintedPixels(viewport) {
        const canvas = viewport.canvas;
        if (!canvas || !canvas.parentNode) return 0;
        const cssWidth = parseFloat(canvas.style.width) || canvas.width;
        const dpr = canvas.width / cssWidth;
        const left = -(parseFloat(canvas.style.left) || 0);
        const top = -(parseFloat(canvas.style.top) || 0);
        const w = viewport.viewportElement.clientWidth;
        const h = viewport.viewportElement.clientHeight;
        const x0 = Math.max(0, Math.floor(left * dpr));
        const y0 = Math.max(0, Math.floor(top * dpr));
        const x1 = Math.min(canvas.width, Math.ceil((left + w) * dpr));
        const y1 = Math.min(canvas.height, Math.ceil((top + h) * dpr));
        if (x1 <= x0 || y1 <= y0) return 0;
        const data = canvas.getContext('2d').getImageData(x0, y0, x1 - x0, y1 - y0).data;
        let n = 0;
        for (let i = 0; i < data.length; i += 4) {
            if (data[i + 3] > 0 && (data[i] < 245 || data[i + 1] < 245 || data[i + 2] < 245)) n += 1;
        }
        return n;
    }

    function viewportMessage(viewport) {
        const div = viewport.messageDiv;
        return div && div.style.display !== 'none' ? div.textContent : null;
    }

    function zoomedOut(viewport) {
        const el = viewport.zoomInNoticeElement;
        return !!el && el.style.display === 'flex';
    }

    function describeViewport(track, viewport, withPixels) {
        const frame = viewport.referenceFrame;
        const {start, end} = viewport.genomicRange();
        const cache = viewport.featureCache;
        const draw = instrumented.get(track).drawsByViewport.get(viewport);
        const painted = !!(viewport.canvas && viewport.canvas.parentNode && viewport.canvas._data &&
            viewport.canvas._data.referenceFrame.chr === frame.chr);
        const out = {
            chr: frame.chr,
            start: Math.floor(start),
            end: Math.ceil(end),
            zoomedOut: zoomedOut(viewport),
            loading: !!viewport.loading,
            drawCalls: draw ? draw.calls : 0,
            loadedFeatures: 0,
            drawn: 0,
            painted,
            paintedPixels: withPixels ? paintedPixels(viewport) : null,
            message: viewportMessage(viewport),
        };
        const features = draw && painted ? draw.options.features : undefined;
        // What igv.js holds for this view must be what it painted: the canvas is repainted from the cache.
        out.drawnFromCache = !!(cache && features !== undefined && cache.features === features);
        if (track.type === 'alignment') {
            out.loadedFeatures = countLoadedAlignments(cache && cache.features);
            if (features && track.showAlignments !== false && !out.zoomedOut) {
                const {drawn, rows} = countAlignments(features, out.start, out.end);
                out.drawn = drawn;
                out.rows = rows;
                out.downsampled = (features.downsampledIntervals || []).reduce((s, i) => s + (i.counts || 0), 0);
                out.coverageMax = typeof features.getMax === 'function' ? features.getMax(out.start, out.end) : null;
            }
        } else {
            const loaded = cache && cache.features;
            out.loadedFeatures = Array.isArray(loaded) ? loaded.length : 0;
            if (features && !out.zoomedOut) out.drawn = countFeatures(track, features, out.start, out.end);
        }
        return out;
    }

    // Everything the page knows about the run, so that a timeout can still report it.
    const run = {
        browser: undefined,
        configs: [],
        tracksLoaded: false,   // loadTrackList has settled
        loggedErrors: [],      // console.error texts (igv.js logs each failed track load there)
        loadError: undefined,  // what loadTrackList threw (its first failure)
    };

    function trackFor(config) {
        for (const track of instrumented.keys()) {
            if (track.name === config.name && track.trackView && !track.trackView.disposed) return track;
        }
        return undefined;
    }

    function loadFailure(config, failedCount) {
        const named = run.loggedErrors.find(m => m.includes(`Track ${config.name}`) ||
            (config.url && m.includes(String(config.url))));
        if (named) return named;
        if (failedCount === 1 && run.loadError) return messageOf(run.loadError);
        return 'track was not added';
    }

    function snapshot(withPixels) {
        const failedCount = run.configs.filter(c => !trackFor(c)).length;
        const tracks = run.configs.map((config, index) => {
            const entry = {
                index,
                name: config.name,
                type: config.type || null,
                format: config.format || null,
                sourceType: config.sourceType || null,
                url: config.url || null,
                loaded: false,
                error: null,
                drawn: 0,
                loadedFeatures: 0,
                viewports: [],
            };
            const track = trackFor(config);
            if (!track) {
                entry.error = run.tracksLoaded ? loadFailure(config, failedCount) :
                    'not loaded: igv.js was still loading its tracks';
                return entry;
            }
            entry.loaded = true;
            entry.type = track.type;
            entry.viewports = track.trackView.viewports.map(vp => describeViewport(track, vp, withPixels));
            entry.drawn = entry.viewports.reduce((s, v) => s + v.drawn, 0);
            entry.loadedFeatures = entry.viewports.reduce((s, v) => s + v.loadedFeatures, 0);
            const messages = entry.viewports.map(v => v.message).filter(m => m);
            if (messages.length > 0) {
                const related = alerts.filter(a => a.includes(`Track ${config.name}`));
                entry.error = [...new Set([...messages, ...related])].join(' | ');
            } else if (entry.viewports.some(v => v.loading)) {
                entry.error = 'not loaded: igv.js was still loading its data';
            }
            return entry;
        });
        const browser = run.browser;
        const frames = browser ? browser.referenceFrameList.map(f => ({
            chr: f.chr, start: Math.floor(f.start), end: Math.ceil(f.end), bpPerPixel: f.bpPerPixel,
        })) : [];
        return {
            igvVersion: typeof igv.version === 'function' ? igv.version() : null,
            frames,
            tracks,
            alerts: alerts.slice(),
            pageErrors: pageErrors.slice(),
            blockedRequests: blockedRequests.slice(),
        };
    }

    /** True when every viewport of every harness track has finished loading and holds its result. */
    function resolved() {
        if (!run.tracksLoaded) return false;
        for (const config of run.configs) {
            const track = trackFor(config);
            if (!track) continue;
            for (const vp of track.trackView.viewports) {
                if (!vp.isVisible()) continue;
                if (vp.loading) return false;
                if (!(vp.featureCache || viewportMessage(vp) || zoomedOut(vp))) return false;
            }
        }
        return true;
    }

    function signature() {
        const parts = [run.tracksLoaded];
        for (const [track, state] of instrumented) {
            parts.push(track.name);
            for (const vp of track.trackView ? track.trackView.viewports : []) {
                const d = state.drawsByViewport.get(vp);
                parts.push(d ? d.calls : 0, vp.loading ? 1 : 0, vp.featureCache ? 1 : 0, viewportMessage(vp) || '');
            }
        }
        return JSON.stringify(parts);
    }

    const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

    async function main() {
        let timer;
        try {
            const config = await readConfig();
            const timeoutMs = config.timeoutMs || 60000;
            const settleMs = config.settleMs || 300;
            timer = setTimeout(() => {
                const snap = snapshot(true);
                snap.error = `not settled after ${timeoutMs} ms`;
                writeResult('timeout', snap);
            }, timeoutMs);

            run.configs = (config.tracks || []).map((t, i) => Object.assign({name: `track${i}`}, t));
            const names = run.configs.map(c => c.name);
            if (new Set(names).size !== names.length) throw new Error(`track names must be unique: ${names}`);

            const logError = console.error;
            console.error = (...args) => {
                run.loggedErrors.push(args.map(messageOf).join(' '));
                return logError.apply(console, args);
            };

            // The browser starts with the reference only, so the harness can hook in before any track draws.
            const browser = await igv.createBrowser(document.getElementById('igv'), {
                reference: config.reference,
                locus: config.locus,
                tracks: [],
                loadDefaultGenomes: false,   // no fetch of the online genome list
                showCursorGuide: false,
            });
            run.browser = browser;

            // Record alerts (igv.js reports data-load failures this way, not by rejecting).
            const alert = browser.alert;
            const present = alert.present.bind(alert);
            alert.present = (message, callback) => {
                alerts.push(stripTags(messageOf(message)));
                return present(message, callback);
            };
            // Instrument each track before its first draw: addTrack runs before the track view paints.
            const addTrack = browser.addTrack.bind(browser);
            browser.addTrack = async track => {
                instrument(track);
                return addTrack(track);
            };

            // All tracks in one call, the path igv.js takes for a session's track list: loaded in parallel,
            // then laid out once.  A failed track is logged (console.error) and the first failure thrown.
            try {
                await browser.loadTrackList(run.configs.map(c => Object.assign({}, c)));
            } catch (error) {
                run.loadError = error;
            }
            run.tracksLoaded = true;

            let last = null;
            let stableSince = performance.now();
            for (;;) {
                const sig = signature();
                if (sig !== last) {
                    last = sig;
                    stableSince = performance.now();
                } else if (resolved() && performance.now() - stableSince >= settleMs) {
                    break;
                }
                await sleep(50);
            }
            clearTimeout(timer);
            writeResult('done', snapshot(true));
        } catch (error) {
            clearTimeout(timer);
            const snap = snapshot(false);
            snap.error = messageOf(error);
            writeResult('error', snap);
        }
    }

    window.igvHarness = {run, snapshot: () => snapshot(false)};
    window.addEventListener('DOMContentLoaded', main);
})();
