import assert from 'node:assert/strict';
import { test } from 'node:test';
import { flvFileHeader, FlvTagReader, FlvTimelineGuard, type FlvTag } from '../../pipeline/output/flvTags.js';

function tag(type: number, ts: number, body: number[]): Buffer {
  const data = Buffer.from(body);
  const header = Buffer.alloc(11);
  header[0] = type;
  header.writeUIntBE(data.length, 1, 3);
  header.writeUIntBE(ts & 0xffffff, 4, 3);
  header[7] = (ts >>> 24) & 0xff;
  const prev = Buffer.alloc(4);
  prev.writeUInt32BE(11 + data.length);
  return Buffer.concat([header, data, prev]);
}

test('splits a byte stream into tags across chunk boundaries and repeated headers', () => {
  const stream = Buffer.concat([
    flvFileHeader(true, true),
    tag(9, 0, [0x17, 0, 0, 0, 0, 1, 2]), // AVC sequence header
    tag(8, 0, [0xaf, 0, 0x12, 0x10]), // AAC sequence header
    tag(9, 33, [0x17, 1, 0, 0, 0, 9]), // keyframe
    tag(9, 66, [0x27, 1, 0, 0, 0, 9]), // inter frame
    flvFileHeader(true, true), // a restarted encoder
    tag(9, 0x1000000 + 5, [0x17, 1, 0, 0, 0]),
  ]);
  const tags: FlvTag[] = [];
  const reader = new FlvTagReader();
  for (let at = 0; at < stream.length; at += 7) reader.push(stream.subarray(at, at + 7), (t) => tags.push(t));
  assert.deepEqual(
    tags.map((t) => [t.type, t.timestampMs, t.isKeyframe, t.isSequenceHeader]),
    [
      ['video', 0, true, true],
      ['audio', 0, false, true],
      ['video', 33, true, false],
      ['video', 66, false, false],
      ['video', 0x1000005, true, false],
    ],
  );
});

test('after an encoder restart the timeline only moves forward and unchanged headers are not repeated', () => {
  const read = (buf: Buffer): FlvTag[] => {
    const out: FlvTag[] = [];
    new FlvTagReader().push(buf, (t) => out.push(t));
    return out;
  };
  const first = read(Buffer.concat([tag(9, 0, [0x17, 0, 0, 0, 0, 1, 2]), tag(8, 0, [0xaf, 0, 0x12, 0x10]), tag(9, 1000, [0x17, 1, 0, 0, 0, 9]), tag(8, 1010, [0xaf, 1, 5]), tag(9, 1033, [0x27, 1, 0, 0, 0, 9])]));
  // The restarted encoder: same headers, then a frame the first had delivered (1033), then new ones.
  const second = read(Buffer.concat([tag(9, 1033, [0x17, 0, 0, 0, 0, 1, 2]), tag(8, 1033, [0xaf, 0, 0x12, 0x10]), tag(9, 1033, [0x17, 1, 0, 0, 0, 7]), tag(8, 1005, [0xaf, 1, 6]), tag(8, 1033, [0xaf, 1, 6]), tag(9, 1066, [0x27, 1, 0, 0, 0, 9])]));
  const changed = read(tag(9, 1100, [0x17, 0, 0, 0, 0, 1, 3]))[0] as FlvTag;
  const guard = new FlvTimelineGuard();
  const passed = [...first, ...second, changed].filter((t) => guard.accept(t)).map((t) => `${t.type}${t.isSequenceHeader ? '-header' : ''}@${t.timestampMs}`);
  assert.deepEqual(passed, ['video-header@0', 'audio-header@0', 'video@1000', 'audio@1010', 'video@1033', 'audio@1033', 'video@1066', 'video-header@1100']);
});
