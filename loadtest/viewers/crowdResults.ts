/** The counting viewers' part of the results: join milestones, failures, frame rates over the hold, packets. */
import type { Crowd } from './crowd.js';
import type { Results } from './report.js';
import type { ViewerSnapshot, WeriftViewer } from './weriftViewer.js';

type CrowdPart = Pick<Results, 'join' | 'joined' | 'failures' | 'fps' | 'packets' | 'notifications'>;

export function crowdResults(crowd: Crowd, before: Map<WeriftViewer, ViewerSnapshot>, after: Map<WeriftViewer, ViewerSnapshot>, holdSeconds: number): CrowdPart {
  const live = crowd.viewers.filter((v) => v.times.firstVideo !== null);
  const failed = crowd.viewers.filter((v) => v.times.firstVideo === null);
  const messages = new Map<string, number>();
  for (const v of failed) messages.set(v.error ?? 'unknown', (messages.get(v.error ?? 'unknown') ?? 0) + 1);
  const times = crowd.viewers.map((v) => v.times);
  const reached = (pick: (t: (typeof times)[number]) => number | null) => times.flatMap((t) => (pick(t) === null ? [] : [pick(t) as number]));
  const finals = [...after.values()];
  const sum = (pick: (s: ViewerSnapshot) => number) => finals.reduce((a, s) => a + pick(s), 0);
  return {
    join: { signaled: reached((t) => t.signaled), iceConnected: reached((t) => t.iceConnected), connected: reached((t) => t.connected), firstVideo: reached((t) => t.firstVideo), firstKeyframe: reached((t) => t.firstKeyframe) },
    joined: live.length,
    failures: { count: failed.length, messages: [...messages].slice(0, 3).map(([m, n]) => `${n}× ${m}`) },
    fps: live.map((v) => ((after.get(v)?.video.frames ?? 0) - (before.get(v)?.video.frames ?? 0)) / holdSeconds),
    packets: { video: sum((s) => s.video.packets), audio: sum((s) => s.audio.packets), lostVideo: sum((s) => s.video.lost), lostAudio: sum((s) => s.audio.lost), keyframes: sum((s) => s.video.keyframes) },
    notifications: crowd.viewers.filter((v) => v.notifications.length > 0).length,
  };
}
