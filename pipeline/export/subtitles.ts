/** One subtitle: a sentence and when it is heard, in milliseconds from the video's start. */
export interface Cue {
  readonly startMs: number;
  readonly endMs: number;
  readonly text: string;
}

function srtTime(ms: number): string {
  const t = Math.max(0, Math.round(ms));
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  return `${pad(Math.floor(t / 3_600_000))}:${pad(Math.floor(t / 60_000) % 60)}:${pad(Math.floor(t / 1000) % 60)},${pad(t % 1000, 3)}`;
}

/** SubRip: numbered cues, "HH:MM:SS,mmm --> HH:MM:SS,mmm", the text, a blank line. */
export function toSrt(cues: readonly Cue[]): string {
  return cues.map((cue, i) => `${i + 1}\n${srtTime(cue.startMs)} --> ${srtTime(cue.endMs)}\n${cue.text.replace(/\r?\n+/g, ' ')}\n`).join('\n');
}
