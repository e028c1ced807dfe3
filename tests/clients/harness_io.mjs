// What the browser harnesses' drivers share (tests/clients/igv/*.mjs, tests/clients/web/steps.mjs):
// reading the job from stdin, and telling a request that stays on this machine from one that
// would leave it.

export async function readStdin() {
    const chunks = [];
    for await (const chunk of process.stdin) chunks.push(chunk);
    return Buffer.concat(chunks).toString('utf8');
}

// Loopback, or data the page holds itself (data:, blob:, about:, file:).
export function isLocal(url) {
    const parsed = new URL(url);
    if (['file:', 'data:', 'blob:', 'about:'].includes(parsed.protocol)) return true;
    const host = parsed.hostname;
    return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
