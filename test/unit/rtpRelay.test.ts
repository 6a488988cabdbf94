import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { test } from 'node:test';
import { RtpRelay } from '../../signaling/rtpRelay.js';

const bound = () =>
  new Promise<dgram.Socket>((resolve) => {
    const socket = dgram.createSocket('udp4');
    socket.bind(0, '127.0.0.1', () => resolve(socket));
  });

function rtp(seq: number, ts: number, ssrc = 1234): Buffer {
  const packet = Buffer.alloc(20);
  packet.writeUInt8(0x80, 0);
  packet.writeUInt8(102, 1);
  packet.writeUInt16BE(seq & 0xffff, 2);
  packet.writeUInt32BE(ts >>> 0, 4);
  packet.writeUInt32BE(ssrc, 8);
  return packet;
}

function senderReport(ts: number, ssrc = 1234): Buffer {
  const packet = Buffer.alloc(28);
  packet.writeUInt8(0x80, 0);
  packet.writeUInt8(200, 1);
  packet.writeUInt16BE(6, 2);
  packet.writeUInt32BE(ssrc, 4);
  packet.writeUInt32BE(ts >>> 0, 16);
  return packet;
}

/** Collects what reaches `socket` until `count` datagrams came or 2 s passed. */
function collect(socket: dgram.Socket, count: number): Promise<Buffer[]> {
  return new Promise((resolve) => {
    const got: Buffer[] = [];
    const done = () => {
      socket.off('message', onMessage);
      clearTimeout(timer);
      resolve(got);
    };
    const onMessage = (m: Buffer) => {
      got.push(m);
      if (got.length === count) done();
    };
    const timer = setTimeout(done, 2000);
    socket.on('message', onMessage);
  });
}

const send = (socket: dgram.Socket, packet: Buffer, port: number) => new Promise<void>((r) => socket.send(packet, port, '127.0.0.1', () => r()));

test('the RTP relay keeps sequence numbers and timestamps continuous when the encoder process changes', async () => {
  const relay = await RtpRelay.open({ clockRateHz: 90000 });
  const [sfuRtp, sfuRtcp, firstEncoder, secondEncoder, secondEncoderRtcp] = await Promise.all([bound(), bound(), bound(), bound(), bound()]);
  await relay.forwardTo({ port: sfuRtp.address().port, rtcpPort: sfuRtcp.address().port });
  try {
    const forwarded = collect(sfuRtp, 6);
    for (let i = 0; i < 3; i++) await send(firstEncoder, rtp(65534 + i, 4_000_000_000 + i * 3000), relay.listenPort);
    await new Promise((r) => setTimeout(r, 100));
    // A restarted encoder: another source port, its own random sequence number and timestamp base.
    for (let i = 0; i < 3; i++) await send(secondEncoder, rtp(17 + i, 123_456 + i * 3000), relay.listenPort);
    const packets = await forwarded;
    assert.equal(packets.length, 6);
    const seqs = packets.map((p) => p.readUInt16BE(2));
    const stamps = packets.map((p) => p.readUInt32BE(4));
    assert.deepEqual(seqs, [65534, 65535, 0, 1, 2, 3], 'one unbroken sequence, wrapping as RTP does');
    assert.deepEqual(stamps.slice(0, 3), [4_000_000_000, 4_000_003_000, 4_000_006_000], 'the first encoder passes unchanged');
    const gapTicks = stamps[3] as number - (stamps[2] as number);
    assert.ok(gapTicks >= 90 * 90 && gapTicks <= 90 * 600, `the restart costs the time it took (~100 ms), not a jump: ${gapTicks / 90} ms`);
    assert.equal(stamps[4] as number - (stamps[3] as number), 3000, 'spacing within the new encoder is kept');
    assert.equal(packets.every((p) => p.readUInt32BE(8) === 1234), true, 'SSRC untouched');
    assert.equal(relay.generations, 2);

    // Its sender reports move by the same shift (the browser maps them to wall time for lip sync);
    // one that would land far from the stream (sent before the new encoder's first packet) is dropped.
    const reports = collect(sfuRtcp, 2);
    await send(secondEncoderRtcp, senderReport(123_456 + 6000), relay.listenRtcpPort);
    await send(secondEncoderRtcp, senderReport(987_654_321), relay.listenRtcpPort);
    await send(secondEncoderRtcp, senderReport(123_456 + 9000), relay.listenRtcpPort);
    const rtcp = await reports;
    assert.deepEqual(rtcp.map((p) => p.readUInt32BE(16)), [(stamps[5] as number) >>> 0, ((stamps[5] as number) + 3000) >>> 0]);

    // Junk (not RTP version 2, too short) is not forwarded.
    const none = collect(sfuRtp, 1);
    await send(firstEncoder, Buffer.from('hello, not rtp'), relay.listenPort);
    await send(firstEncoder, Buffer.alloc(5), relay.listenPort);
    assert.equal((await none).length, 0);
  } finally {
    relay.close();
    for (const s of [sfuRtp, sfuRtcp, firstEncoder, secondEncoder, secondEncoderRtcp]) s.close();
  }
});

test('a closed relay frees its ports, so a new SFU worker can listen where the encoder sends', async () => {
  const relay = await RtpRelay.open({ clockRateHz: 48000 });
  const port = relay.listenPort;
  relay.close();
  relay.close();
  const again = await RtpRelay.open({ clockRateHz: 48000, listenPort: port });
  assert.equal(again.listenPort, port, 'the port is free again (a new SFU worker listens where the encoder sends)');
  again.close();
});
