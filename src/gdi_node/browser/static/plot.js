// The allele frequency of each variant shown along the position (log scale), and under it the
// called track: each site's allele number (AN, chromosomes called) as a share of the largest AN
// of its dataset on the page, so that "absent" can be told from "not covered" at a glance.
// An upper-bound frequency (a small count) is drawn hollow at its bound.
import {escapeHtml, frequency, t} from './format.js';

const WIDTH = 900;
const TOP = 180;
const TRACK = 50;
const LEFT = 56;
const FLOOR = 1e-5;

function logY(af) {
    const value = Math.max(af, FLOOR);
    return 10 + (TOP - 20) * (1 - (Math.log10(value) - Math.log10(FLOOR)) / -Math.log10(FLOOR));
}

export function drawPlot(root, rows) {
    const placed = rows.filter(row => row.pos !== null && row.overall);
    if (!placed.length) {
        root.innerHTML = '';
        return;
    }
    const first = Math.min(...placed.map(r => r.pos));
    const last = Math.max(...placed.map(r => r.pos));
    const span = Math.max(1, last - first);
    const x = pos => LEFT + ((pos - first) / span) * (WIDTH - LEFT - 10);
    const largest = new Map();
    for (const row of placed) {
        largest.set(row.dataset, Math.max(largest.get(row.dataset) || 0, row.overall.alleleNumber || 0));
    }
    const dots = [];
    const bars = [];
    for (const row of placed) {
        const item = row.overall;
        const bound = (item.upperBounds || []).includes('alleleFrequency');
        const cx = x(row.pos).toFixed(1);
        const cy = logY(item.alleleFrequency || 0).toFixed(1);
        dots.push(`<circle cx="${cx}" cy="${cy}" r="3" class="dot class-${row.consequence}${bound ? ' bound' : ''}"><title>${escapeHtml(row.slug)} ${escapeHtml(row.dataset)} AF ${bound ? '≤ ' : ''}${frequency(item.alleleFrequency, bound)}</title></circle>`);
        const share = largest.get(row.dataset) ? (item.alleleNumber || 0) / largest.get(row.dataset) : 0;
        const height = (share * (TRACK - 8)).toFixed(1);
        bars.push(`<rect x="${cx}" y="${(TOP + TRACK - Number(height)).toFixed(1)}" width="1.5" height="${height}" class="called"></rect>`);
    }
    const ticks = [1, 0.1, 0.01, 0.001, 1e-4, 1e-5].map(af => {
        const y = logY(af).toFixed(1);
        return `<line x1="${LEFT - 4}" x2="${WIDTH - 10}" y1="${y}" y2="${y}" class="grid"></line><text x="${LEFT - 6}" y="${y}" class="tick" text-anchor="end" dominant-baseline="middle">${af >= 0.001 ? af : af.toExponential(0)}</text>`;
    }).join('');
    const axis = `<text x="${LEFT}" y="${TOP + TRACK + 16}" class="tick">${first.toLocaleString()}</text>`
        + `<text x="${WIDTH - 10}" y="${TOP + TRACK + 16}" class="tick" text-anchor="end">${last.toLocaleString()}</text>`
        + `<text x="4" y="${TOP + TRACK - 4}" class="tick">${escapeHtml(t('plot.called_short'))}</text>`;
    root.innerHTML = `<figure><svg viewBox="0 0 ${WIDTH} ${TOP + TRACK + 22}" role="img" aria-labelledby="plot-caption">
<title>${escapeHtml(t('plot.title'))}</title>${ticks}${bars.join('')}${dots.join('')}${axis}</svg>
<figcaption id="plot-caption">${escapeHtml(t('plot.caption'))}</figcaption></figure>`;
}
