/**
 * Compile-time proof that what the pipeline and the store produce fits the API's contract (contract.ts), so
 * the two cannot drift apart: a field renamed, retyped or dropped on either side stops the type check
 * here. (Fields added on the pipeline's side without the contract are caught by the e2e tests, which parse
 * real answers with the contract's strict schemas.) Types only: nothing here runs.
 *
 * Kept apart from contract.ts because the console's type check reads that file and must not reach the
 * pipeline's code.
 */
import type { AvatarChoices } from '../../pipeline/avatar/loader.js';
import type { ChannelStatus, SpeechEvent } from '../../pipeline/channel.js';
import type { PlaylistLine } from '../../pipeline/speech/speaker.js';
import type { DestinationStatus } from '../../pipeline/output/destinationStatus.js';
import type { ChannelConfig } from '../../config/schema.js';
import type { StoredUpload } from '../uploadRecord.js';
import type { AvatarChoicesAnswer, ChannelSceneAnswer, ChannelStatusAnswer, DestinationStatusAnswer, DriveStatusAnswer, PlaylistAnswer, SpeechEventAnswer, UploadAnswer } from './contract.js';

/** Compiles only when `Actual` can be given where the contract asks for `Contract`. */
type Fits<Contract, Actual extends Contract> = Actual;

export type ContractChecks = [
  Fits<ChannelStatusAnswer, ChannelStatus>,
  Fits<DriveStatusAnswer, ChannelStatus['drive']>,
  Fits<DestinationStatusAnswer, DestinationStatus>,
  // Both ways where the contract says exactly what the code has.
  Fits<DestinationStatus, DestinationStatusAnswer>,
  Fits<SpeechEventAnswer, SpeechEvent>,
  Fits<PlaylistAnswer, { readonly lines: readonly PlaylistLine[]; readonly loop: boolean }>,
  Fits<AvatarChoicesAnswer, AvatarChoices>,
  Fits<AvatarChoices, AvatarChoicesAnswer>,
  Fits<Omit<UploadAnswer, 'url'>, StoredUpload>,
  Fits<StoredUpload, Omit<UploadAnswer, 'url'>>,
  Fits<ChannelSceneAnswer, { readonly scene: ChannelConfig['scene']; readonly avatar: ChannelConfig['avatar'] }>,
];
