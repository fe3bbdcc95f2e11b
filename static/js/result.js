/*
 * Result panel: select a word to see its sounds, play one word's segment of the recording,
 * and hear the model text through the browser's speech synthesis.
 *
 * Listeners are delegated from the document, so a result swapped in by htmx (after
 * polling) works without re-initialising anything. Also lets a poll's "signed out" notice in.
 */

const canSpeak = "speechSynthesis" in window && "SpeechSynthesisUtterance" in window;

function revealSpeakButtons(root = document) {
  if (!canSpeak) return;
  root.querySelectorAll("button[data-speak-text][hidden]").forEach((button) => {
    button.hidden = false;
  });
}

function speak(text, lang) {
  window.speechSynthesis.cancel();
  const utterance = new SpeechSynthesisUtterance(text);
  utterance.lang = lang || document.documentElement.lang || "en-US";
  utterance.rate = 0.9; // a little slower than default, for learners
  const voice = window.speechSynthesis
    .getVoices()
    .find((candidate) => candidate.lang.replace("_", "-") === utterance.lang);
  if (voice) utterance.voice = voice;
  window.speechSynthesis.speak(utterance);
}

function selectWord(button) {
  const panel = button.closest("[data-result]");
  if (!panel) return;
  const detail = document.getElementById(button.getAttribute("aria-controls"));
  const wasOpen = button.getAttribute("aria-expanded") === "true";
  panel.querySelectorAll("button.word[aria-expanded]").forEach((other) => {
    other.setAttribute("aria-expanded", "false");
    other.classList.remove("is-selected");
  });
  panel.querySelectorAll(".word-detail").forEach((section) => {
    section.hidden = true;
  });
  if (wasOpen || !detail) return; // a second press closes it
  button.setAttribute("aria-expanded", "true");
  button.classList.add("is-selected");
  detail.hidden = false;
  detail.scrollIntoView({ block: "nearest" });
}

// The segment being played per audio element, so a new one (or a full play) replaces it.
const segments = new WeakMap();

export function playSegment(audio, offsetMs, durationMs) {
  const start = offsetMs / 1000;
  const end = (offsetMs + durationMs) / 1000;
  const token = {};
  segments.set(audio, token);
  // timeupdate fires only every ~250 ms: watch each frame so the pause lands on the word.
  const watch = () => {
    if (segments.get(audio) !== token) return;
    if (audio.currentTime >= end || audio.ended) {
      audio.pause();
      segments.delete(audio);
      return;
    }
    if (!audio.paused) requestAnimationFrame(watch);
  };
  const play = () => {
    audio.currentTime = start;
    audio
      .play()
      .then(() => requestAnimationFrame(watch))
      .catch(() => segments.delete(audio));
  };
  // Seeking needs the metadata; the server answers Range requests so the browser can seek.
  if (audio.readyState >= 1) play();
  else audio.addEventListener("loadedmetadata", play, { once: true });
  if (audio.preload === "none") audio.load();
}

document.addEventListener("click", (event) => {
  const target = event.target instanceof Element ? event.target : null;
  if (!target) return;
  const word = target.closest("[data-result] button.word");
  if (word) {
    selectWord(word);
    return;
  }
  const segment = target.closest("[data-play-segment]");
  if (segment) {
    const audio = segment.closest("[data-result]")?.querySelector("audio[data-attempt-audio]");
    if (audio) {
      playSegment(audio, Number(segment.dataset.offsetMs), Number(segment.dataset.durationMs));
    }
    return;
  }
  const speakButton = target.closest("button[data-speak-text]");
  if (speakButton && canSpeak) speak(speakButton.dataset.speakText, speakButton.dataset.speakLang);
});

// The learner pausing or seeking by hand ends segment mode, so the whole recording plays on.
document.addEventListener(
  "seeked",
  (event) => {
    const audio = event.target;
    if (!(audio instanceof HTMLAudioElement) || !segments.has(audio)) return;
    if (audio.paused) segments.delete(audio);
  },
  true,
);

// htmx leaves 4xx answers unswapped; a poll that finds the learner signed out answers 401
// with a notice (partials/signed_out.html) meant to replace the panel, and so end the polling.
document.addEventListener("htmx:beforeSwap", (event) => {
  const { xhr } = event.detail;
  if (xhr && xhr.status === 401 && xhr.responseText.includes("data-signed-out")) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});

revealSpeakButtons();
// After htmx swaps, the settled element may be a replaced node: rescan the document.
document.addEventListener("htmx:afterSettle", () => revealSpeakButtons());
