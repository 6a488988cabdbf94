/**
 * Code run inside the viewer pages, kept as strings: tsx's transpiler wraps named functions in
 * `__name` helpers that the page does not have.
 */

/** Resolves with the page's clock (Date.now) once the video has decoded a frame. */
export const FIRST_FRAME = `new Promise((resolve) => {
  const video = document.getElementById('video');
  const check = () => (video.getVideoPlaybackQuality().totalVideoFrames > 0 ? resolve(Date.now()) : requestAnimationFrame(check));
  check();
})`;

/** Decoded and dropped frames so far. */
export const PLAYBACK_QUALITY = `(() => {
  const q = document.getElementById('video').getVideoPlaybackQuality();
  return { decoded: q.totalVideoFrames, dropped: q.droppedVideoFrames };
})()`;

/**
 * Installs window.fenshenArm(colour, timeoutMs): from then on, until the colour is seen, it draws a small
 * square from the top-left corner of the video (background only: the avatar stands in the middle,
 * captions low) into a canvas and classifies it against `colours` (RGB triples):
 *  - every animation frame: `shown` is the wall time (Date.now, the load test's clock) of the first
 *    animation frame showing the colour (what a viewer sees);
 *  - every decoded video frame (requestVideoFrameCallback): `received` is when the first frame in the
 *    colour finished arriving (metadata.receiveTime), splitting server and network from the browser.
 * The result lands in window.fenshenWatch (a promise). Polling only while armed keeps Chromium's cost
 * down to decoding: a canvas draw of a 720x1280 frame is a full colour conversion.
 */
export function installColourWatch(colours: readonly (readonly [number, number, number])[]): string {
  return `(() => {
    const targets = ${JSON.stringify(colours)};
    const video = document.getElementById('video');
    const canvas = document.createElement('canvas');
    canvas.width = 4;
    canvas.height = 4;
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    const classify = () => {
      const w = video.videoWidth, h = video.videoHeight;
      if (!w || !h) return -1;
      const size = Math.round(w * 0.04);
      ctx.drawImage(video, Math.round(w * 0.03), Math.round(h * 0.03), size, size, 0, 0, 4, 4);
      const d = ctx.getImageData(0, 0, 4, 4).data;
      let r = 0, g = 0, b = 0;
      for (let i = 0; i < d.length; i += 4) { r += d[i]; g += d[i + 1]; b += d[i + 2]; }
      const n = d.length / 4;
      let match = -1;
      targets.forEach((t, i) => {
        if (Math.abs(r / n - t[0]) + Math.abs(g / n - t[1]) + Math.abs(b / n - t[2]) < 90) match = i;
      });
      return match;
    };
    window.fenshenClassify = classify;
    window.fenshenArm = (colour, timeoutMs) => {
      window.fenshenWatch = new Promise((resolve) => {
        let shown = null, received = null, done = false;
        const finish = () => {
          if (done) return;
          done = true;
          resolve({ shown, received });
        };
        setTimeout(finish, timeoutMs);
        // Only a change counts: the colour must first be seen not showing (a late page may still show
        // it from an earlier change).
        let away = false, frameAway = false;
        const tick = () => {
          if (done) return;
          const match = classify();
          if (match === colour && away) {
            shown = Date.now();
            // The decoded-frame watcher may see it a frame later; give it a moment.
            setTimeout(finish, received === null ? 150 : 0);
            return;
          }
          if (match !== colour) away = true;
          requestAnimationFrame(tick);
        };
        const onFrame = (now, meta) => {
          if (done || received !== null) return;
          const match = classify();
          if (match === colour && frameAway && meta.receiveTime) {
            received = performance.timeOrigin + meta.receiveTime;
            if (shown !== null) finish();
            return;
          }
          if (match !== colour) frameAway = true;
          video.requestVideoFrameCallback(onFrame);
        };
        requestAnimationFrame(tick);
        video.requestVideoFrameCallback(onFrame);
      });
      return true;
    };
    return true;
  })()`;
}

export const arm = (colour: number, timeoutMs: number) => `window.fenshenArm(${colour}, ${timeoutMs})`;
export const AWAIT_WATCH = 'window.fenshenWatch';
/** Which of the colours the video shows now (-1: neither). */
export const SHOWING = 'window.fenshenClassify()';
