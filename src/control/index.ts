/** The control server room's public face, for the composition root (cli/). */
export { createControlServer, ADMIN_USER, type ControlServer, type ControlServerOptions } from './create-control-server.js';
export { programInfoHash } from './metadata.js';
export { hashPassword, verifyPassword } from './passwords.js';
export { parseIsoDate } from './dates.js';
export type { TrackerInfo } from './tracker-registry.js';
export type { TrackerLink, TrackerLinkEvents } from './tracker-link.js';
export {
  DisconnectOrchestrator,
  DEFAULT_DISCONNECT_RETRY_MS,
  DEFAULT_EXPIRY_CHECK_MS,
  type DisconnectOrchestratorOptions,
} from './disconnect-orchestrator.js';
export type { TrackerLinkHooks, LeftEvent } from './tracker-link.js';
export type { DisconnectView } from './schemas.js';
