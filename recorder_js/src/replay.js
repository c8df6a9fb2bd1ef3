// The replayer bundle for the viewer and the fidelity tests: rrweb's own Replayer, exposed
// as the global `rrweb` (no CDN anywhere).
import { Replayer, EventType, IncrementalSource } from 'rrweb';

globalThis.rrweb = { Replayer, EventType, IncrementalSource };
