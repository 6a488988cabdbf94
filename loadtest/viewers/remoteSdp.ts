/**
 * The SDP offer a load-test peer sets as its remote description, written from what the SFU answered:
 * mediasoup sends, the peer only receives. The transport is ICE-lite (so the peer controls ICE) and its
 * DTLS role is auto, offered as `actpass` so the peer answers `active` and is the DTLS client.
 */
import type { ConsumerShape, TransportShape } from './mediasoupShapes.js';

function formatParameters(parameters: Record<string, string | number> | undefined): string | null {
  const entries = Object.entries(parameters ?? {});
  return entries.length ? entries.map(([k, v]) => `${k}=${v}`).join(';') : null;
}

function mediaSection(consumer: ConsumerShape, mid: string, transport: TransportShape): string[] {
  const { rtpParameters: rtp } = consumer;
  const types = rtp.codecs.map((c) => c.payloadType).join(' ');
  const fingerprint = transport.dtlsParameters.fingerprints.find((f) => f.algorithm === 'sha-256') ?? transport.dtlsParameters.fingerprints[0];
  const lines = [
    `m=${consumer.kind} 9 UDP/TLS/RTP/SAVPF ${types}`,
    'c=IN IP4 0.0.0.0',
    `a=mid:${mid}`,
    'a=sendonly',
    `a=ice-ufrag:${transport.iceParameters.usernameFragment}`,
    `a=ice-pwd:${transport.iceParameters.password}`,
    `a=fingerprint:${fingerprint?.algorithm} ${fingerprint?.value}`,
    'a=setup:actpass',
    'a=rtcp-mux',
    'a=rtcp-rsize',
  ];
  for (const codec of rtp.codecs) {
    const [, name] = codec.mimeType.split('/');
    lines.push(`a=rtpmap:${codec.payloadType} ${name}/${codec.clockRate}${codec.channels && codec.channels > 1 ? `/${codec.channels}` : ''}`);
    for (const fb of codec.rtcpFeedback ?? []) lines.push(`a=rtcp-fb:${codec.payloadType} ${fb.type}${fb.parameter ? ` ${fb.parameter}` : ''}`);
    const fmtp = formatParameters(codec.parameters);
    if (fmtp) lines.push(`a=fmtp:${codec.payloadType} ${fmtp}`);
  }
  for (const ext of rtp.headerExtensions ?? []) lines.push(`a=extmap:${ext.id} ${ext.uri}`);
  const cname = rtp.rtcp?.cname ?? 'fenshen';
  for (const encoding of rtp.encodings ?? []) {
    if (encoding.ssrc === undefined) continue;
    lines.push(`a=ssrc:${encoding.ssrc} cname:${cname}`, `a=ssrc:${encoding.ssrc} msid:fenshen ${consumer.id}`);
  }
  // UDP only: the peer is on the same host, and TCP candidates would only add checks.
  for (const c of transport.iceCandidates.filter((c) => c.protocol === 'udp')) {
    lines.push(`a=candidate:${c.foundation} 1 udp ${c.priority} ${c.address} ${c.port} typ ${c.type}`);
  }
  lines.push('a=end-of-candidates');
  return lines;
}

export function remoteOffer(transport: TransportShape, consumers: readonly ConsumerShape[]): string {
  const mids = consumers.map((c, i) => c.rtpParameters.mid ?? String(i));
  const lines = ['v=0', `o=- ${Date.now()} 1 IN IP4 127.0.0.1`, 's=fenshen', 't=0 0', 'a=ice-lite', `a=group:BUNDLE ${mids.join(' ')}`, 'a=msid-semantic: WMS fenshen'];
  consumers.forEach((c, i) => lines.push(...mediaSection(c, mids[i] as string, transport)));
  return `${lines.join('\r\n')}\r\n`;
}

/** The DTLS fingerprint of a local SDP, in mediasoup's DtlsParameters shape. */
export function fingerprintOf(sdp: string): { algorithm: string; value: string } {
  const match = /^a=fingerprint:(\S+) (\S+)/m.exec(sdp);
  if (!match?.[1] || !match[2]) throw new Error('the local answer has no a=fingerprint line');
  return { algorithm: match[1].toLowerCase(), value: match[2].toUpperCase() };
}
