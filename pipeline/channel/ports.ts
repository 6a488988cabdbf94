import type { RtpTarget } from '../output/encoder.js';

/**
 * The channel's ports to the outside that another part of the server implements: the WebRTC rendition's
 * way into the SFU (signaling/sfu.ts), and the operator's camera and microphone out of it.
 */

/** Where the channel's RTP goes in the SFU and how many watch there. */
export interface WebrtcOutput {
  readonly rtpTargets: { readonly video: RtpTarget; readonly audio: RtpTarget };
  readonly viewerCount: number;
  /** Whether the operator sends its camera (video) or microphone (audio) now. */
  sends(kind: 'audio' | 'video'): boolean;
  /** The operator's camera or microphone as plain RTP for a local decoder; rejects when it is not sent. */
  openOperatorTap(kind: 'audio' | 'video'): Promise<OperatorTap>;
}

/** The operator's camera or microphone out of the SFU: an SDP for ffmpeg, and its start and end. */
export interface OperatorTap {
  readonly sdp: string;
  /** (Re)starts the flow; for video it also asks the sender for a keyframe. */
  resume(): Promise<void>;
  close(): void;
}
