import type { PlaylistLine } from '../speech/speaker.js';

/** A short video's script: text (one line a sentence group, a blank line a longer pause) or lines as for a playlist. */
export type VideoScript = string | readonly PlaylistLine[];

/** The pause after a line of a text script, and what each blank line after it adds. */
const LINE_PAUSE_MS = 500;
const BLANK_LINE_PAUSE_MS = 700;
/** Speech a video may hold (the estimate, before anything is made). */
export const MAX_SPEECH_S = 600;

export class VideoScriptError extends Error {
  override readonly name = 'VideoScriptError';
}

/** The lines to say, in order, with their pauses. */
export function scriptLines(script: VideoScript): PlaylistLine[] {
  if (typeof script !== 'string') return script.filter((line) => line.text.trim() !== '').map((line) => ({ ...line, text: line.text.trim() }));
  const lines: PlaylistLine[] = [];
  for (const raw of script.split(/\r?\n/)) {
    const text = raw.trim();
    const last = lines.at(-1);
    if (text === '') {
      if (last) lines[lines.length - 1] = { ...last, pauseMs: (last.pauseMs ?? LINE_PAUSE_MS) + BLANK_LINE_PAUSE_MS };
      continue;
    }
    lines.push({ text, pauseMs: LINE_PAUSE_MS });
  }
  return lines;
}

/**
 * Seconds the lines will take, roughly (Chinese ~4.5 characters a second, other words ~2.6 a second, plus
 * the pauses): enough to refuse a script far over the limit before any of it is made.
 */
export function estimateSpeechS(lines: readonly PlaylistLine[]): number {
  let s = 0;
  for (const line of lines) {
    const han = (line.text.match(/\p{Script=Han}/gu) ?? []).length;
    const words = (line.text.replace(/\p{Script=Han}/gu, ' ').match(/[\p{L}\p{N}]+/gu) ?? []).length;
    s += han / 4.5 + words / 2.6 + (line.pauseMs ?? LINE_PAUSE_MS) / 1000;
  }
  return s;
}

/** The lines of a script that can be rendered, or a VideoScriptError saying why not. */
export function checkScript(script: VideoScript): PlaylistLine[] {
  const lines = scriptLines(script);
  if (lines.length === 0) throw new VideoScriptError('the script is empty: give the text to say');
  const estimate = estimateSpeechS(lines);
  if (estimate > MAX_SPEECH_S) throw new VideoScriptError(`the script is too long: about ${Math.round(estimate / 60)} minutes of speech, at most ${MAX_SPEECH_S / 60}`);
  return lines;
}
