import { MemorySwarmStore } from '../../src/store/memory-swarm-store.js';
import { runSwarmStoreSuite } from './swarm-store-suite.js';

runSwarmStoreSuite('memory', () => new MemorySwarmStore());
