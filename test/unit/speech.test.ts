import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AudioMouth } from '../../pipeline/speech/audioMouth.js';
import { EspeakProvider } from '../../pipeline/speech/espeakProvider.js';
import { HttpTtsProvider, PcmStreamDecoder } from '../../pipeline/speech/httpProvider.js';
import { Speaker, SpeechInputError } from '../../pipeline/speech/speaker.js';
import { detectLanguage, MAX_SENTENCE_CHARS, normalizeForSpeech, splitSentences } from '../../pipeline/speech/sentences.js';
import { VISEME_TARGETS, VisemeTrack, visemeOf } from '../../pipeline/speech/visemes.js';

test('sentences split at Chinese and English punctuation', () => {
  assert.deepEqual(splitSentences('大家好！欢迎来到直播间。今天有什么？'), ['大家好！', '欢迎来到直播间。', '今天有什么？']);
  assert.deepEqual(splitSentences('Hello there. How are you? Fine!'), ['Hello there.', 'How are you?', 'Fine!']);
  assert.deepEqual(splitSentences('欢迎！Welcome to the room. 我们开始吧'), ['欢迎！', 'Welcome to the room.', '我们开始吧']);
  assert.deepEqual(splitSentences('第一行\n第二行'), ['第一行', '第二行']);
});

test('prices, decimals and abbreviations do not end a sentence', () => {
  assert.deepEqual(splitSentences('只要¥199.9，今天下单。'), ['只要¥199.9，今天下单。']);
  assert.deepEqual(splitSentences('It costs $19.99 today. Buy now.'), ['It costs $19.99 today.', 'Buy now.']);
  assert.deepEqual(splitSentences('Ask Dr. Li about version 2.5.1 please.'), ['Ask Dr. Li about version 2.5.1 please.']);
  assert.deepEqual(splitSentences('真的吗？！太好了……'), ['真的吗？！', '太好了……']);
  assert.deepEqual(splitSentences('他说：“好的。”然后走了。'), ['他说：“好的。”', '然后走了。']);
});

test('punctuation-only pieces vanish and long sentences are cut at commas', () => {
  assert.deepEqual(splitSentences('。。。！！'), []);
  const long = `${'这是一个很长的句子，'.repeat(30)}结束。`;
  const parts = splitSentences(long);
  assert.ok(parts.length > 1);
  for (const part of parts) assert.ok([...part].length <= MAX_SENTENCE_CHARS, part);
  assert.equal(parts.join(''), long);
  const noBreaks = 'a'.repeat(300);
  assert.ok(splitSentences(noBreaks).every((p) => p.length <= MAX_SENTENCE_CHARS));
});

test('text is normalised for the voice: currency, percentages, long numbers, emoji', () => {
  assert.equal(detectLanguage('今天 iPhone 只要5999'), 'zh');
  assert.equal(detectLanguage('only today'), 'en');
  assert.equal(normalizeForSpeech('只要¥199.9', 'zh'), '只要199.9元');
  assert.equal(normalizeForSpeech('打8.5%折', 'zh'), '打百分之8.5折');
  assert.equal(normalizeForSpeech('电话13812345678', 'zh'), '电话一三八一二三四五六七八');
  assert.equal(normalizeForSpeech('Only $19.99 😀 today!', 'en'), 'Only 19.99 dollars today!');
  assert.equal(normalizeForSpeech('限时优惠🔥🔥', 'zh'), '限时优惠');
});

test('eSpeak phonemes map to visemes for English and Mandarin', () => {
  const cases: [string, string][] = [
    ['p', 'PP'], ['b', 'PP'], ['m', 'PP'], ['f', 'FF'], ['T', 'TH'], ['t', 'DD'], ['k', 'kk'], ['N', 'kk'],
    ['s', 'SS'], ['S', 'CH'], ['tS', 'CH'], ['n', 'nn'], ['l', 'nn'], ['r', 'RR'],
    ['a', 'aa'], ['aI', 'aa'], ['A:', 'aa'], ['e', 'E'], ['@', 'E'], ['i:', 'I'], ['I', 'I'], ['oU', 'O'], ['O:', 'O'], ['u:', 'U'],
    // Mandarin (cmn-latn-pinyin): retroflex and alveolo-palatal initials, apical vowel, ü.
    ['ts.', 'CH'], ['s.', 'CH'], ['tS;', 'CH'], ['S;', 'CH'], ['ts', 'SS'], ['X', 'kk'], ['i.', 'I'], ['iE', 'I'], ['y', 'U'], ['Au', 'aa'], ['ua', 'U'],
    ['_', 'sil'], ['_|', 'sil'], ['_:', 'sil'], ['(en)', 'sil'], ['', 'sil'],
  ];
  for (const [phoneme, viseme] of cases) assert.equal(visemeOf(phoneme), viseme, phoneme);
});

test('a viseme track moves smoothly, anticipates sounds and closes for p/b/m and silence', () => {
  const rate = 1000; // one sample a millisecond keeps the numbers readable
  const track = new VisemeTrack(rate, 0.02, 0.07);
  track.add(100, 'aa');
  track.add(300, 'PP');
  track.add(400, 'O');
  track.add(600, 'sil');
  assert.equal(track.at(50).open, 0, 'closed before speech');
  assert.ok(track.at(85).open > 0, 'starts opening before the sound (anticipation)');
  assert.ok(Math.abs(track.at(200).open - VISEME_TARGETS.aa.open) < 1e-9, 'reaches the vowel');
  assert.equal(track.at(360).open, 0, 'lips close for p/b/m');
  assert.ok(track.at(500).round > 0.7, 'rounds for o');
  assert.equal(track.at(700).open, 0, 'closes in silence');
  // No jumps: consecutive samples never differ by more than the steepest smoothstep allows.
  let worst = 0;
  for (let t = 0; t < 700; t++) worst = Math.max(worst, Math.abs(track.at(t + 1).open - track.at(t).open));
  assert.ok(worst < 0.03, `largest step ${worst}`);
});

test('the audio-driven mouth stays shut on silence and noise and opens on voiced sound', () => {
  const rate = 48000, block = 1600;
  const mouth = new AudioMouth(rate);
  let seed = 7;
  const noise = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 0.004;
  let maxOpen = 0;
  for (let b = 0; b < 60; b++) {
    const x = new Float32Array(block).map(noise);
    maxOpen = Math.max(maxOpen, mouth.process(x).open);
  }
  assert.equal(maxOpen, 0, 'quiet noise never opens the mouth');
  let opened = 0;
  for (let b = 0; b < 30; b++) {
    const x = new Float32Array(block).map((_, i) => 0.3 * Math.sin((2 * Math.PI * 220 * (b * block + i)) / rate) + noise());
    if (mouth.process(x).open > 0.3) opened++;
  }
  assert.ok(opened > 20, `voiced blocks open the mouth (${opened}/30)`);
  let closedAfter = 0;
  for (let b = 0; b < 30; b++) if (mouth.process(new Float32Array(block).map(noise)).open < 0.05) closedAfter++;
  assert.ok(closedAfter > 20, 'and it closes again after');
});

test('streamed WAV and raw PCM replies decode across chunk boundaries; a wrong rate is refused', () => {
  const pcm = Buffer.alloc(200);
  for (let i = 0; i < 100; i++) pcm.writeInt16LE((i - 50) * 600, i * 2);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + pcm.length, 4);
  header.write('WAVEfmt ', 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(22050, 24);
  header.writeUInt32LE(44100, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(pcm.length, 40);
  const wav = Buffer.concat([header, pcm]);
  const decoder = new PcmStreamDecoder(22050);
  const out: number[] = [];
  for (let at = 0; at < wav.length; at += 7) out.push(...(decoder.push(wav.subarray(at, at + 7)) ?? []));
  assert.equal(out.length, 100);
  assert.ok(Math.abs((out[0] as number) - (-50 * 600) / 32768) < 1e-6);
  const raw = new PcmStreamDecoder(24000);
  assert.equal(raw.push(pcm.subarray(0, 5)), null, 'too few bytes to tell WAV from raw yet');
  assert.equal(raw.push(pcm.subarray(5, 13))?.length, 6, 'an odd byte waits for its pair');
  assert.equal(raw.push(pcm.subarray(13))?.length, 94);
  assert.throws(() => new PcmStreamDecoder(16000).push(wav), /set speech.http.sampleRateHz to 22050/);
});

test('Silero VAD (ONNX) hears speech and not silence or noise', async () => {
  const { spawnSync } = await import('node:child_process');
  const { SileroVad, SILERO_CHUNK } = await import('../../pipeline/speech/sileroVad.js');
  const spoken = spawnSync('espeak-ng', ['-v', 'en-us', '--stdout', 'Hello, this is a test of voice activity.'], { maxBuffer: 1 << 24 });
  assert.equal(spoken.status, 0, `espeak-ng: ${spoken.error?.message ?? spoken.stderr}`);
  const wav = spawnSync('ffmpeg', ['-v', 'error', '-i', '-', '-ar', '16000', '-ac', '1', '-f', 'f32le', '-'], { input: spoken.stdout, maxBuffer: 1 << 24 }).stdout;
  const speech = new Float32Array(wav.buffer.slice(wav.byteOffset, wav.byteOffset + wav.length));
  let seed = 3;
  const noise = new Float32Array(16000).map(() => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 0.02);
  const vad = await SileroVad.create();
  const mean = async (audio: Float32Array) => {
    vad.reset();
    let sum = 0, n = 0;
    for (let i = 0; i + SILERO_CHUNK <= audio.length; i += SILERO_CHUNK, n++) sum += await vad.probability(audio.slice(i, i + SILERO_CHUNK));
    return sum / n;
  };
  assert.ok((await mean(new Float32Array(16000))) < 0.1, 'silence');
  assert.ok((await mean(noise)) < 0.2, 'noise');
  assert.ok((await mean(speech)) > 0.6, 'speech');
  await assert.rejects(vad.probability(new Float32Array(100)), /512 samples/);
  await vad.close();
});

test('eSpeak voices are checked before speaking: installed ones pass in any case and with a variant, others are refused with the installed list', async () => {
  const provider = new EspeakProvider();
  const speaker = new Speaker(provider, 48000, () => {});
  try {
    for (const voice of ['en-us', 'EN-US', 'cmn-latn-pinyin', 'en-us+f3']) assert.equal(await speaker.voiceProblem(voice), null, voice);
    const problem = await speaker.voiceProblem('xx-nosuch');
    assert.match(problem ?? '', /^voice "xx-nosuch" is not installed; installed: .*\ben-us\b/);
    assert.match(problem ?? '', /\bcmn-latn-pinyin\b/);
    const installed = await provider.installedVoices();
    assert.ok(installed.length > 50 && installed.includes('yue'), `${installed.length} voices`);
    // A name the helper would read as more than a voice is refused without asking it.
    assert.match((await speaker.voiceProblem('en\tus')) ?? '', /not installed/);
  } finally {
    await speaker.close();
    await provider.close();
  }
});

test('a voice behind HTTP cannot be checked up front: any name passes here', async () => {
  const speaker = new Speaker(new HttpTtsProvider({ url: 'http://127.0.0.1:9/tts', headers: {}, sampleRateHz: 24000, timeoutMs: 1000 }), 48000, () => {});
  assert.equal(await speaker.voiceProblem('whatever'), null);
  await speaker.close();
});

test('a playlist is refused naming its first line that cannot be said; lines that can are kept', async () => {
  const provider = new EspeakProvider();
  const speaker = new Speaker(provider, 48000, () => {});
  try {
    assert.throws(() => speaker.setPlaylist([{ text: '😀' }, { text: '\u200b' }], true), (err: Error) => err instanceof SpeechInputError && /^line 1: text has nothing that can be spoken/.test(err.message));
    assert.throws(() => speaker.setPlaylist([{ text: '你好。' }, { text: '  ' }], true), /^SpeechInputError: line 2: text is empty/);
    assert.deepEqual(speaker.playlist.lines, [], 'a refused playlist changes nothing');
    speaker.setPlaylist([{ text: '你好。' }, { text: 'Hello 😀' }], false);
    assert.equal(speaker.playlist.lines.length, 2);
  } finally {
    await speaker.close();
    await provider.close();
  }
});

test('while a sentence with visemes plays, the speaker also says the mouth of the next ticks: each tick\'s first look-ahead is the next tick\'s mouth', async () => {
  const provider = new EspeakProvider();
  const speaker = new Speaker(provider, 48000, () => {});
  try {
    speaker.say('Ah, all right, we are live.');
    const frames = 1600; // one 30 fps tick at 48 kHz
    let previousAhead: { open: number; form: number; round: number } | null = null;
    let compared = 0, speaking = 0;
    const until = performance.now() + 10_000;
    while (performance.now() < until && compared < 40) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      const tick = speaker.next(frames);
      if (tick.mouthAhead.length === 0) {
        previousAhead = null;
        continue;
      }
      speaking++;
      assert.ok(tick.mouthAhead.length <= 4);
      if (previousAhead) {
        assert.ok(Math.abs(previousAhead.open - tick.mouth.open) < 1e-9 && Math.abs(previousAhead.round - tick.mouth.round) < 1e-9, `tick ${speaking}: said ahead ${JSON.stringify(previousAhead)}, came ${JSON.stringify(tick.mouth)}`);
        compared++;
      }
      // Only as far as the sentence has been synthesised.
      const first = tick.mouthAhead[0];
      previousAhead = first ? { ...first } : null;
    }
    assert.ok(compared >= 20, `look-ahead compared on ${compared} ticks`);
  } finally {
    await speaker.close();
    await provider.close();
  }
});
