/**
 * The RTP capabilities a load-test viewer sends in `consume`, in mediasoup's format: H.264 constrained
 * baseline (packetization-mode 1, 42e01f) and Opus stereo, at the payload types the router prefers (as a
 * browser's mediasoup-client would), with NACK (as browsers do) but no RTX, REMB or transport-cc: the
 * SFU forwards the one encoding it has, so bandwidth estimation would only add feedback traffic.
 */
import type { types as ms } from 'mediasoup';
import type { RouterCapabilities } from './mediasoupShapes.js';

export const H264_PROFILE_LEVEL_ID = '42e01f';

export function viewerCapabilities(router: RouterCapabilities): ms.RtpCapabilities {
  const h264 = router.codecs.find((c) => c.mimeType.toLowerCase() === 'video/h264' && String(c.parameters?.['profile-level-id']).toLowerCase() === H264_PROFILE_LEVEL_ID && Number(c.parameters?.['packetization-mode']) === 1);
  const opus = router.codecs.find((c) => c.mimeType.toLowerCase() === 'audio/opus' && c.clockRate === 48000 && c.channels === 2);
  if (!h264 || !opus) throw new Error(`the router offers no H.264 ${H264_PROFILE_LEVEL_ID} (packetization-mode 1) or no opus/48000/2`);
  return {
    codecs: [
      {
        kind: 'video',
        mimeType: 'video/H264',
        preferredPayloadType: h264.preferredPayloadType,
        clockRate: 90000,
        parameters: { 'packetization-mode': 1, 'profile-level-id': H264_PROFILE_LEVEL_ID, 'level-asymmetry-allowed': 1 },
        rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }],
      },
      { kind: 'audio', mimeType: 'audio/opus', preferredPayloadType: opus.preferredPayloadType, clockRate: 48000, channels: 2, rtcpFeedback: [] },
    ],
    headerExtensions: [],
  };
}
