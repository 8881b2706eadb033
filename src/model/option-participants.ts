import { ModelDefinitionError } from '../errors.js';
import type { ModelMeta, ModelOptions } from './metadata.js';

/** `@Model` options that switch on a lifecycle participant implemented above the model layer. */
type ParticipantOption = 'outbox';

const PARTICIPANT_OPTIONS: readonly ParticipantOption[] = ['outbox'];

// The model layer imports nothing above it, yet `@Model({ outbox: true })` turns on sync/'s
// outbox writer. So the layer that implements an option registers, when it loads, how to turn
// it on; the package root loads sync/, so every user of `polyrecord` has it registered.
const enablers = new Map<ParticipantOption, (meta: ModelMeta) => void>();

/** Registers how `option` is turned on for a model (called once by the implementing module). */
export function provideParticipantOption(option: ParticipantOption, enable: (meta: ModelMeta) => void): void {
  enablers.set(option, enable);
}

/** Turns on, for a model being declared, the participant of each option it sets. */
export function applyParticipantOptions(meta: ModelMeta, options: ModelOptions): void {
  for (const option of PARTICIPANT_OPTIONS) {
    if (!options[option]) continue;
    const enable = enablers.get(option);
    // Only reachable by importing src/model without the package root: say so instead of ignoring the option.
    if (!enable) throw new ModelDefinitionError(`@Model({ ${option}: true }) needs polyrecord's sync module; import from the package root`);
    enable(meta);
  }
}
