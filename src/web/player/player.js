// The viewer's player page: plays the local live stream with mpegts.js (MSE),
// shows the viewer's figures over the video from server-sent events, and says
// why when the session ends. Plain browser JavaScript, loaded as a module; the
// viewer serves it as is (no build step). Everything that comes from the
// viewer is set as text, never as markup.
/* global EventSource, DOMException */

/** @param {string} id @returns {HTMLElement} */
function byId(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el;
}

const video = /** @type {HTMLVideoElement} */ (byId('video'));
const unmute = /** @type {HTMLButtonElement} */ (byId('unmute'));
const endBox = byId('end');
const message = byId('message');
const streamUrl = new URL('stream.ts', window.location.href).href;
let ended = false;

byId('cmds').textContent = ['vlc', 'mpv', 'ffplay'].map((p) => `${p} ${streamUrl}`).join('\n');
byId('stream').textContent = streamUrl;

/** @param {string} state */
function setState(state) {
  document.body.dataset['state'] = state;
}

/** @param {string} text */
function say(text) {
  message.textContent = text;
}

// ---- the player ---------------------------------------------------------

/** @type {{ destroy(): void; unload(): void } | null} */
let player = null;

function startPlayer() {
  const lib = /** @type {any} */ (window).mpegts;
  if (!lib || !lib.isSupported() || !lib.getFeatureList().mseLivePlayback) {
    say('This browser cannot play MPEG-TS live here (no Media Source Extensions): use one of the commands below.');
    return;
  }
  // Its own warnings and errors only, not a line per buffer append in the console.
  lib.LoggingControl.enableVerbose = false;
  lib.LoggingControl.enableDebug = false;
  lib.LoggingControl.enableInfo = false;
  const p = lib.createPlayer(
    { type: 'mpegts', isLive: true, url: streamUrl },
    {
      enableWorker: false,
      lazyLoad: false,
      autoCleanupSourceBuffer: true,
      // Stay near the viewer's output: if the browser's own buffer grows past 3 s, play a little faster until 1.5 s.
      liveSync: true,
      liveSyncMaxLatency: 3,
      liveSyncTargetLatency: 1.5,
      liveSyncPlaybackRate: 1.1,
    },
  );
  p.on(lib.Events.ERROR, (/** @type {string} */ type, /** @type {string} */ detail) => {
    if (!ended) say(`Playback error: ${type} (${detail}). Reload the page to try again.`);
  });
  p.attachMediaElement(video);
  p.load();
  player = p;
  void play();
}

// Sound on where the browser lets a page start it; else muted, with one click to unmute.
async function play() {
  try {
    video.muted = false;
    await video.play();
  } catch (err) {
    if (ended) return;
    if (err instanceof DOMException && err.name === 'NotAllowedError') {
      video.muted = true;
      unmute.hidden = false;
      try {
        await video.play();
      } catch {
        say('Press play to start.');
      }
    }
  }
}

unmute.addEventListener('click', () => {
  video.muted = false;
  video.volume = 1;
  unmute.hidden = true;
  if (video.paused) void video.play();
});
video.addEventListener('volumechange', () => {
  if (!video.muted) unmute.hidden = true;
});
video.addEventListener('playing', () => {
  if (!ended) setState('playing');
});

// ---- the viewer's figures ---------------------------------------------------

/** @param {number | null | undefined} v @param {(n: number) => string} f */
const show = (v, f) => (typeof v === 'number' && Number.isFinite(v) ? f(v) : '–');

/** How far the browser itself plays behind what it has received, seconds. */
function browserLagS() {
  const b = video.buffered;
  return b.length > 0 ? Math.max(0, b.end(b.length - 1) - video.currentTime) : 0;
}

/**
 * @param {{ session?: string | null, peers?: number, fromPeersShare?: number | null, continuity?: number, behindLiveS?: number | null }} status
 */
function showStatus(status) {
  // Before admission (no session yet) there are no figures to show, only dashes.
  const s = typeof status.session === 'string' ? status : {};
  byId('s-peers').textContent = `peers ${show(s.peers, (v) => String(v))}`;
  byId('s-share').textContent = `from peers ${show(s.fromPeersShare, (v) => `${Math.round(v * 100)}%`)}`;
  byId('s-continuity').textContent = `continuity ${show(s.continuity, (v) => `${(v * 100).toFixed(1)}%`)}`;
  byId('s-behind').textContent = `behind live ${show(s.behindLiveS, (v) => `${(v + browserLagS()).toFixed(1)} s`)}`;
}

/** @param {{ message?: string, reason?: string }} end */
function showEnd(end) {
  ended = true;
  setState('ended');
  unmute.hidden = true;
  endBox.textContent = typeof end.message === 'string' ? end.message : `Session ended: ${String(end.reason)}`;
  endBox.hidden = false;
  say('');
  video.pause();
  if (player) {
    player.unload();
    player.destroy();
    player = null;
  }
}

function follow() {
  const events = new EventSource('events');
  events.addEventListener('status', (ev) => {
    try {
      showStatus(JSON.parse(/** @type {MessageEvent<string>} */ (ev).data));
      if (!ended && message.textContent === 'The viewer is not reachable; retrying…') say('');
    } catch {
      // A malformed event changes nothing on the page.
    }
  });
  events.addEventListener('end', (ev) => {
    events.close();
    try {
      showEnd(JSON.parse(/** @type {MessageEvent<string>} */ (ev).data));
    } catch {
      showEnd({ reason: 'unknown' });
    }
  });
  events.addEventListener('error', () => {
    if (!ended) say('The viewer is not reachable; retrying…');
  });
}

follow();
startPlayer();
